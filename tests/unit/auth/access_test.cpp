// auth's one access policy for owner-scoped rows, role by role.
#include <gtest/gtest.h>

#include "auth/auth.hpp"
#include "core/errors.hpp"

namespace {

using motorpool::auth::Access;
using motorpool::auth::Actor;
using motorpool::auth::may_access;
using motorpool::auth::require_access;
using motorpool::auth::Role;

constexpr std::int64_t kOwner = 7;
constexpr std::int64_t kStranger = 8;

TEST(AccessPolicyTest, OwnersReadAndWriteTheirRowsWhateverTheirRole) {
    for (Role role : {Role::Member, Role::FleetManager, Role::Support, Role::Admin}) {
        EXPECT_TRUE(may_access(Actor{kOwner, role}, kOwner, Access::Read));
        EXPECT_TRUE(may_access(Actor{kOwner, role}, kOwner, Access::Write));
    }
}

TEST(AccessPolicyTest, OthersRowsByRole) {
    struct Case {
        Role role;
        bool read;
        bool write;
    };
    for (const Case& c : {Case{Role::Member, false, false},
                          Case{Role::Support, true, false},
                          Case{Role::FleetManager, true, true},
                          Case{Role::Admin, true, true}}) {
        const Actor actor{kStranger, c.role};
        EXPECT_EQ(may_access(actor, kOwner, Access::Read), c.read);
        EXPECT_EQ(may_access(actor, kOwner, Access::Write), c.write);
        // A row nobody owns is nobody's own: the same answers.
        EXPECT_EQ(may_access(actor, std::nullopt, Access::Read), c.read);
        EXPECT_EQ(may_access(actor, std::nullopt, Access::Write), c.write);
    }
}

// Not readable: 404 (the row's existence is not confirmed); readable, not writable: 403.
TEST(AccessPolicyTest, RefusalsAreNotFoundBeforeForbidden) {
    try {
        require_access(Actor{kStranger, Role::Member}, kOwner, Access::Write, "Vehicle", "no");
        FAIL() << "a member wrote another member's row";
    } catch (const motorpool::core::ApiError& e) {
        EXPECT_EQ(e.status(), 404);
    }
    try {
        require_access(Actor{kStranger, Role::Support}, kOwner, Access::Write, "Vehicle", "support reads only");
        FAIL() << "support wrote a member's row";
    } catch (const motorpool::core::ApiError& e) {
        EXPECT_EQ(e.status(), 403);
        EXPECT_EQ(e.detail(), "support reads only");
    }
    EXPECT_NO_THROW(require_access(Actor{kStranger, Role::Support}, kOwner, Access::Read, "Vehicle", ""));
}

}  // namespace
