#include "platform/module.hpp"

namespace motorpool::platform {

Module::~Module() = default;

void Module::configure(core::Settings& /*settings*/) {}

std::vector<db::Migration> Module::migrations(db::Dialect /*dialect*/) const {
    return {};
}

void Module::start(const Started& /*started*/) {}

void Module::stop() {}

std::string with_bound_port(const std::string& url, const Started& started) {
    return url == "http://localhost:0" ? started.public_origin : url;
}

}  // namespace motorpool::platform
