// Accounts costs: access-token issue and verification (goal: verify under 20 us), and Argon2id
// hashing/verification, which bounds logins per second per core.
//   build/bench/auth_bench
#include <benchmark/benchmark.h>

#include "core/time.hpp"
#include "password.hpp"
#include "tokens.hpp"

namespace {

using motorpool::auth::AccessClaims;
using motorpool::auth::PasswordHasher;
using motorpool::auth::TokenSigner;

AccessClaims sample_claims() {
    std::int64_t now = motorpool::core::now_ms() / 1000;
    return {"0190a6d4-8a1b-7c3d-9e4f-0123456789ab", "member", now, now + 900, "0190a6d4-8a1b-7c3d-9e4f-0123456789ac"};
}

void BM_IssueAccessToken(benchmark::State& state) {
    TokenSigner signer("benchmark-secret-key-0123456789abcdef", "motorpool", "motorpool-api");
    auto claims = sample_claims();
    for (auto _ : state) {
        benchmark::DoNotOptimize(signer.issue(claims));
    }
}
BENCHMARK(BM_IssueAccessToken);

void BM_VerifyAccessToken(benchmark::State& state) {
    TokenSigner signer("benchmark-secret-key-0123456789abcdef", "motorpool", "motorpool-api");
    auto claims = sample_claims();
    std::string token = signer.issue(claims);
    for (auto _ : state) {
        benchmark::DoNotOptimize(signer.verify(token, claims.issued_at_s));
    }
}
BENCHMARK(BM_VerifyAccessToken);

void BM_PasswordVerify(benchmark::State& state) {
    PasswordHasher hasher(2, 19 * 1024 * 1024);
    std::string stored = hasher.hash("correct horse battery staple");
    for (auto _ : state) {
        benchmark::DoNotOptimize(hasher.verify("correct horse battery staple", stored));
    }
}
BENCHMARK(BM_PasswordVerify)->Unit(benchmark::kMillisecond);

}  // namespace
