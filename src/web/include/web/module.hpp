#pragma once
// The web dashboard's built files (web/dist: a Vite single-page app), served by motorpool at /:
// hashed assets with year-long caching, precompressed .br / .gz chosen by Accept-Encoding, a
// strict Content-Security-Policy on the pages, and index.html for the app's own paths (a browser
// asking for HTML at a path no route has). Without a build the server still starts, says how to
// build the dashboard in its log, and answers / with a page saying the same.

#include <memory>
#include <string>

#include "platform/module.hpp"

namespace motorpool::web {

class Assets;

class Module final : public platform::Module {
public:
    std::string_view name() const override { return "web"; }
    void configure(core::Settings& settings) override;
    void install(platform::Context& context) override;

private:
    std::string directory_;
    std::shared_ptr<const Assets> assets_;
};

}  // namespace motorpool::web
