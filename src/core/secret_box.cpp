#include "core/secret_box.hpp"

#include <sodium.h>

#include "core/config.hpp"
#include "core/crypto.hpp"

namespace motorpool::core {

namespace {

constexpr std::string_view kVersion = "v1";
constexpr std::size_t kKeyBytes = crypto_aead_xchacha20poly1305_ietf_KEYBYTES;
constexpr std::size_t kNonceBytes = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr std::size_t kTagBytes = crypto_aead_xchacha20poly1305_ietf_ABYTES;

const unsigned char* bytes(std::string_view s) {
    return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

SecretBox::SecretBox(std::string current, std::vector<std::string> previous) {
    crypto_init();
    if (current.size() != kKeyBytes) {
        throw ConfigError("MOTORPOOL_ENCRYPTION_KEY must be 32 bytes");
    }
    keys_.push_back({key_id(current), std::move(current)});
    for (auto& key : previous) {
        if (key.size() != kKeyBytes) {
            throw ConfigError("MOTORPOOL_ENCRYPTION_KEYS_PREVIOUS: every key must be 32 bytes");
        }
        keys_.push_back({key_id(key), std::move(key)});
    }
}

SecretBox SecretBox::from_base64(const std::string& current, const std::vector<std::string>& previous) {
    auto decoded = base64_decode(current);
    if (!decoded || decoded->size() != kKeyBytes) {
        throw ConfigError("MOTORPOOL_ENCRYPTION_KEY must be base64 of 32 bytes");
    }
    std::vector<std::string> old;
    for (const auto& text : previous) {
        auto key = base64_decode(text);
        if (!key || key->size() != kKeyBytes) {
            throw ConfigError("MOTORPOOL_ENCRYPTION_KEYS_PREVIOUS must list base64 keys of 32 bytes");
        }
        old.push_back(std::move(*key));
    }
    return SecretBox(std::move(*decoded), std::move(old));
}

std::string SecretBox::generate_key_base64() {
    return base64_encode(random_bytes(kKeyBytes));
}

std::string SecretBox::key_id(std::string_view key) {
    // Keyed by a fixed label so the id says nothing usable about the key.
    return hex_encode(hmac_sha256(key, "motorpool key id")).substr(0, 8);
}

std::string SecretBox::seal(std::string_view plaintext, std::string_view associated) const {
    const Key& key = keys_.front();
    std::string box = random_bytes(kNonceBytes);
    box.resize(kNonceBytes + plaintext.size() + kTagBytes);
    unsigned long long written = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(reinterpret_cast<unsigned char*>(box.data() + kNonceBytes),
                                               &written,
                                               bytes(plaintext),
                                               plaintext.size(),
                                               bytes(associated),
                                               associated.size(),
                                               nullptr,
                                               bytes(box),
                                               bytes(key.bytes));
    box.resize(kNonceBytes + written);
    std::string out(kVersion);
    out += '.';
    out += key.id;
    out += '.';
    out += base64url_encode(box);
    return out;
}

std::optional<std::string> SecretBox::open(std::string_view sealed, std::string_view associated) const {
    auto first = sealed.find('.');
    auto second = first == std::string_view::npos ? first : sealed.find('.', first + 1);
    if (second == std::string_view::npos || sealed.substr(0, first) != kVersion) {
        return std::nullopt;
    }
    std::string_view id = sealed.substr(first + 1, second - first - 1);
    const Key* key = nullptr;
    for (const auto& k : keys_) {
        if (k.id == id) {
            key = &k;
        }
    }
    auto box = base64url_decode(sealed.substr(second + 1));
    if (key == nullptr || !box || box->size() < kNonceBytes + kTagBytes) {
        return std::nullopt;
    }
    std::string plain(box->size() - kNonceBytes - kTagBytes, '\0');
    unsigned long long written = 0;
    int rc = crypto_aead_xchacha20poly1305_ietf_decrypt(reinterpret_cast<unsigned char*>(plain.data()),
                                                        &written,
                                                        nullptr,
                                                        bytes(*box) + kNonceBytes,
                                                        box->size() - kNonceBytes,
                                                        bytes(associated),
                                                        associated.size(),
                                                        bytes(*box),
                                                        bytes(key->bytes));
    if (rc != 0) {
        return std::nullopt;
    }
    plain.resize(written);
    return plain;
}

bool SecretBox::is_current(std::string_view sealed) const {
    auto first = sealed.find('.');
    auto second = first == std::string_view::npos ? first : sealed.find('.', first + 1);
    return second != std::string_view::npos && sealed.substr(first + 1, second - first - 1) == current_key_id();
}

}  // namespace motorpool::core
