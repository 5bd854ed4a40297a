#pragma once
// HS256 JWT access tokens (libjwt): issue and verify with strict algorithm, issuer, audience and
// expiry checks.

#include <cstdint>
#include <optional>
#include <string>

namespace motorpool::auth {

struct AccessClaims {
    std::string subject;  // user public id
    std::string role;
    std::int64_t issued_at_s = 0;
    std::int64_t expires_at_s = 0;
    std::string token_id;  // jti
};

class TokenSigner {
public:
    TokenSigner(std::string secret, std::string issuer, std::string audience);
    std::string issue(const AccessClaims& claims) const;
    /// nullopt for anything but a well-formed HS256 token signed with our key, from our issuer,
    /// for our audience, not expired at `now_s` (no leeway beyond 30 s of clock skew on iat).
    std::optional<AccessClaims> verify(const std::string& token, std::int64_t now_s) const;

private:
    std::string secret_;
    std::string issuer_;
    std::string audience_;
};

}  // namespace motorpool::auth
