#pragma once
// Argon2id password hashing through libsodium; always run on a worker thread.

#include <string>

namespace motorpool::auth {

class PasswordHasher {
public:
    PasswordHasher(unsigned long long opslimit, std::size_t memlimit);
    std::string hash(const std::string& password) const;
    /// Verifies against `stored`; with an empty `stored` it verifies against a fixed dummy hash
    /// so that unknown accounts cost the same time as known ones, and returns false.
    bool verify(const std::string& password, const std::string& stored) const;

private:
    unsigned long long opslimit_;
    std::size_t memlimit_;
    std::string dummy_hash_;
};

}  // namespace motorpool::auth
