#pragma once
// Secrets at rest (OAuth tokens): XChaCha20-Poly1305 (libsodium) under a 32-byte key with a random
// 24-byte nonce. Associated data binds a ciphertext to its row and field, so a sealed value copied
// into another row or column does not open. The text form names its key, so keys can rotate:
//   "v1.<key id>.<base64url(nonce || ciphertext || tag)>"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace motorpool::core {

class SecretBox {
public:
    /// `current` seals; `previous` keys only open (values sealed before a rotation). Raw 32-byte keys.
    explicit SecretBox(std::string current, std::vector<std::string> previous = {});

    /// From MOTORPOOL_ENCRYPTION_KEY and MOTORPOOL_ENCRYPTION_KEYS_PREVIOUS (base64); throws
    /// ConfigError naming the variable when a key is not base64 of 32 bytes.
    static SecretBox from_base64(const std::string& current, const std::vector<std::string>& previous = {});
    /// A fresh random key, base64 (for `motorpool keys generate`).
    static std::string generate_key_base64();
    /// The short public id of a key: 8 hex digits of a keyed hash, safe to store and log.
    static std::string key_id(std::string_view key);

    std::string seal(std::string_view plaintext, std::string_view associated) const;
    /// The plaintext, or nullopt when the key is unknown or the value or its associated data was altered.
    std::optional<std::string> open(std::string_view sealed, std::string_view associated) const;
    /// True when `sealed` was sealed with the current key (nothing to rotate).
    bool is_current(std::string_view sealed) const;
    const std::string& current_key_id() const { return keys_.front().id; }

private:
    struct Key {
        std::string id;
        std::string bytes;
    };
    std::vector<Key> keys_;  // front: current
};

}  // namespace motorpool::core
