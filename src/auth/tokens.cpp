#include "tokens.hpp"

#include <cerrno>
#include <cstdlib>
#include <memory>
#include <stdexcept>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <jwt.h>

#include "core/crypto.hpp"

namespace motorpool::auth {
namespace {

struct JwtFree {
    void operator()(jwt_t* jwt) const { jwt_free(jwt); }
};
using JwtPtr = std::unique_ptr<jwt_t, JwtFree>;

std::string grant(jwt_t* jwt, const char* name) {
    const char* v = jwt_get_grant(jwt, name);
    return v != nullptr ? v : "";
}

// libjwt reads the header's "alg" without regard to case ("hs256" passes as HS256); RFC 7518 names
// are case-sensitive, and docs/security.md promises exactly "HS256".
bool header_names_hs256(std::string_view token) {
    const auto dot = token.find('.');
    if (dot == std::string_view::npos) {
        return false;
    }
    auto header = core::base64url_decode(token.substr(0, dot));
    if (!header) {
        return false;
    }
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(*header, ec);
    const auto* object = !ec ? v.if_object() : nullptr;
    const auto* alg = object != nullptr ? object->if_contains("alg") : nullptr;
    return alg != nullptr && alg->is_string() && alg->get_string() == "HS256";
}

}  // namespace

TokenSigner::TokenSigner(std::string secret, std::string issuer, std::string audience)
    : secret_(std::move(secret)), issuer_(std::move(issuer)), audience_(std::move(audience)) {}

std::string TokenSigner::issue(const AccessClaims& claims) const {
    jwt_t* raw = nullptr;
    if (jwt_new(&raw) != 0) {
        throw std::bad_alloc();
    }
    JwtPtr jwt(raw);
    const auto* key = reinterpret_cast<const unsigned char*>(secret_.data());
    jwt_set_alg(jwt.get(), JWT_ALG_HS256, key, static_cast<int>(secret_.size()));
    jwt_add_grant(jwt.get(), "sub", claims.subject.c_str());
    jwt_add_grant(jwt.get(), "role", claims.role.c_str());
    jwt_add_grant(jwt.get(), "iss", issuer_.c_str());
    jwt_add_grant(jwt.get(), "aud", audience_.c_str());
    jwt_add_grant(jwt.get(), "jti", claims.token_id.c_str());
    jwt_add_grant_int(jwt.get(), "iat", static_cast<long>(claims.issued_at_s));
    jwt_add_grant_int(jwt.get(), "exp", static_cast<long>(claims.expires_at_s));
    char* encoded = jwt_encode_str(jwt.get());
    if (encoded == nullptr) {
        throw std::runtime_error("cannot encode the access token");
    }
    std::string token(encoded);
    std::free(encoded);  // libjwt 1.10 allocates with malloc
    return token;
}

std::optional<AccessClaims> TokenSigner::verify(const std::string& token, std::int64_t now_s) const {
    if (token.size() > 4096 || !header_names_hs256(token)) {
        return std::nullopt;
    }
    jwt_t* raw = nullptr;
    const auto* key = reinterpret_cast<const unsigned char*>(secret_.data());
    if (jwt_decode(&raw, token.c_str(), key, static_cast<int>(secret_.size())) != 0 || raw == nullptr) {
        return std::nullopt;
    }
    JwtPtr jwt(raw);
    // jwt_decode accepts whatever algorithm the header names; only HS256 with our key is ours
    // ("none" and every other algorithm are refused here).
    if (jwt_get_alg(jwt.get()) != JWT_ALG_HS256) {
        return std::nullopt;
    }
    AccessClaims claims;
    claims.subject = grant(jwt.get(), "sub");
    claims.role = grant(jwt.get(), "role");
    claims.token_id = grant(jwt.get(), "jti");
    errno = 0;
    claims.issued_at_s = jwt_get_grant_int(jwt.get(), "iat");
    claims.expires_at_s = jwt_get_grant_int(jwt.get(), "exp");
    if (errno != 0 || claims.subject.empty() || claims.role.empty() || grant(jwt.get(), "iss") != issuer_ ||
        grant(jwt.get(), "aud") != audience_ || claims.expires_at_s <= now_s || claims.issued_at_s > now_s + 30) {
        return std::nullopt;
    }
    return claims;
}

}  // namespace motorpool::auth
