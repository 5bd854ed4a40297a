#include "platform/module.hpp"

namespace motorpool::platform {

Module::~Module() = default;

void Module::configure(core::Settings& /*settings*/) {}

std::vector<db::Migration> Module::migrations(db::Dialect /*dialect*/) const {
    return {};
}

void Module::start(const Started& /*started*/) {}

void Module::stop() {}

}  // namespace motorpool::platform
