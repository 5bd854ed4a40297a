#include "core/secret_box.hpp"

#include <gtest/gtest.h>

#include "core/config.hpp"
#include "core/crypto.hpp"

namespace motorpool::core {
namespace {

TEST(SecretBoxTest, SealsAndOpensBoundToItsAssociatedData) {
    SecretBox box(std::string(32, 'k'));
    std::string sealed = box.seal("refresh-token-value", "smartcar_connections:7:refresh_token");
    EXPECT_EQ(sealed.rfind("v1." + box.current_key_id() + ".", 0), 0U);
    EXPECT_EQ(sealed.find("refresh-token-value"), std::string::npos);
    EXPECT_EQ(box.open(sealed, "smartcar_connections:7:refresh_token"), "refresh-token-value");
    // Another row or field, a flipped byte, another key: nothing opens.
    EXPECT_FALSE(box.open(sealed, "smartcar_connections:8:refresh_token"));
    std::string tampered = sealed;
    tampered[tampered.size() - 3] = tampered[tampered.size() - 3] == 'A' ? 'B' : 'A';
    EXPECT_FALSE(box.open(tampered, "smartcar_connections:7:refresh_token"));
    EXPECT_FALSE(SecretBox(std::string(32, 'x')).open(sealed, "smartcar_connections:7:refresh_token"));
    EXPECT_FALSE(box.open("not sealed", ""));
    // Two seals of one value differ (random nonces).
    EXPECT_NE(box.seal("same", ""), box.seal("same", ""));
}

TEST(SecretBoxTest, PreviousKeysOpenAfterARotation) {
    const std::string old_key(32, 'o');
    const std::string new_key(32, 'n');
    std::string sealed_old = SecretBox(old_key).seal("token", "ad");
    SecretBox rotated(new_key, {old_key});
    EXPECT_FALSE(rotated.is_current(sealed_old));
    EXPECT_EQ(rotated.open(sealed_old, "ad"), "token");
    std::string resealed = rotated.seal("token", "ad");
    EXPECT_TRUE(rotated.is_current(resealed));
    EXPECT_NE(SecretBox::key_id(old_key), SecretBox::key_id(new_key));
}

TEST(SecretBoxTest, KeysFromConfigurationAreBase64Of32Bytes) {
    auto key = SecretBox::generate_key_base64();
    EXPECT_EQ(base64_decode(key)->size(), 32U);
    EXPECT_NO_THROW(SecretBox::from_base64(key));
    EXPECT_THROW(SecretBox::from_base64("c2hvcnQ="), ConfigError);
    EXPECT_THROW(SecretBox::from_base64(key, {"!!"}), ConfigError);
}

}  // namespace
}  // namespace motorpool::core
