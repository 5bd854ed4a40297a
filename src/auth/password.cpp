#include "password.hpp"

#include <stdexcept>

#include <sodium.h>

#include "core/crypto.hpp"

namespace motorpool::auth {

PasswordHasher::PasswordHasher(unsigned long long opslimit, std::size_t memlimit)
    : opslimit_(opslimit), memlimit_(memlimit) {
    core::crypto_init();
    dummy_hash_ = hash(core::hex_encode(core::random_bytes(16)));
}

std::string PasswordHasher::hash(const std::string& password) const {
    char out[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str_alg(
            out, password.data(), password.size(), opslimit_, memlimit_, crypto_pwhash_ALG_ARGON2ID13) != 0) {
        throw std::runtime_error("password hashing ran out of memory");
    }
    return out;
}

bool PasswordHasher::verify(const std::string& password, const std::string& stored) const {
    const std::string& target = stored.empty() ? dummy_hash_ : stored;
    bool ok = crypto_pwhash_str_verify(target.c_str(), password.data(), password.size()) == 0;
    return ok && !stored.empty();
}

}  // namespace motorpool::auth
