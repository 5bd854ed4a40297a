// Runs the integration suite on the backend named by MOTORPOOL_TEST_BACKEND (exit 77: unavailable).
#include "core/log.hpp"
#include "test_database.hpp"

int main(int argc, char** argv) {
    motorpool::core::init_logging("warn", "text");
    return motorpool::testing::run_all_tests_or_skip(argc, argv);
}
