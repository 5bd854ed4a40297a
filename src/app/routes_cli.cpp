#include "routes_cli.hpp"

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "app/app.hpp"
#include "http/router.hpp"

namespace motorpool::app {

namespace {

// A path the pattern matches and no literal route does: each {param} (and {rest...}) becomes a
// segment no route spells.
std::string sample_path(const std::string& pattern) {
    std::string out;
    for (std::size_t i = 0; i < pattern.size(); ++i) {
        if (pattern[i] == '{') {
            const auto close = pattern.find('}', i);
            out += "~x~";
            i = close == std::string::npos ? pattern.size() : close;
        } else {
            out += pattern[i];
        }
    }
    return out;
}

std::string authentication(const http::RouteOptions& o) {
    if (o.basic) {
        return o.auth == http::Auth::Required ? "basic" : "basic (optional)";
    }
    switch (o.auth) {
        case http::Auth::Required:
            return o.token_in_query ? "bearer or ?token=" : "bearer";
        case http::Auth::Optional:
            return "bearer (optional)";
        case http::Auth::None:
            break;
    }
    return "none";
}

std::string size_text(std::size_t bytes) {
    if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) == 0) {
        return std::to_string(bytes / (1024 * 1024)) + " MiB";
    }
    if (bytes >= 1024 && bytes % 1024 == 0) {
        return std::to_string(bytes / 1024) + " KiB";
    }
    return std::to_string(bytes) + " B";
}

struct Row {
    std::string method, path, auth, body, notes;
};

}  // namespace

int run_routes(Config config, bool markdown) {
    App app(std::move(config));
    const http::Router& router = app.router();
    std::vector<Row> rows;
    for (const auto& [method, pattern] : router.routes()) {
        const http::Match match = router.match(method, sample_path(pattern));
        if (match.kind != http::Match::Kind::Found || match.route == nullptr || match.route->pattern != pattern) {
            continue;  // shadowed by another route: never reached
        }
        const http::Route& route = *match.route;
        Row row{http::method_name(method), pattern, authentication(route.options), "", ""};
        std::vector<std::string> notes;
        if (route.websocket) {
            row.method = "GET (WebSocket)";
            row.body = size_text(route.options.ws_max_message_bytes) + " a message";
            if (!route.options.subprotocols.empty()) {
                std::string list;
                for (const auto& p : route.options.subprotocols) {
                    list += (list.empty() ? "" : ", ") + p;
                }
                notes.push_back("subprotocols " + list);
            }
        } else if (method != http::Method::Get && method != http::Method::Delete) {
            row.body = size_text(router.body_limit(match));
            if (route.options.open_sink || route.options.spool_threshold != 0) {
                notes.push_back("body streamed");
            }
        }
        if (route.options.shape_problems) {
            notes.push_back("original service's error shape");
        }
        for (const auto& n : notes) {
            row.notes += (row.notes.empty() ? "" : "; ") + n;
        }
        rows.push_back(std::move(row));
    }
    std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.path < b.path; });
    if (markdown) {
        std::printf("| Method | Path | Authentication | Body limit | Notes |\n|---|---|---|---|---|\n");
        for (const auto& r : rows) {
            std::printf("| %s | `%s` | %s | %s | %s |\n",
                        r.method.c_str(),
                        r.path.c_str(),
                        r.auth.c_str(),
                        r.body.empty() ? "" : r.body.c_str(),
                        r.notes.c_str());
        }
    } else {
        for (const auto& r : rows) {
            std::printf("%-16s %-64s %-20s %-18s %s\n",
                        r.method.c_str(),
                        r.path.c_str(),
                        r.auth.c_str(),
                        r.body.c_str(),
                        r.notes.c_str());
        }
    }
    std::printf(markdown ? "\n%zu routes.\n" : "%zu routes\n", rows.size());
    app.shutdown();
    return 0;
}

}  // namespace motorpool::app
