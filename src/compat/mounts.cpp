// MOTORPOOL_COMPAT: which original surfaces are mounted where, and the collision check.

#include <algorithm>
#include <map>
#include <stdexcept>

#include "compat/module.hpp"

namespace motorpool::compat {

namespace {

std::string trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return std::string(s);
}

bool known(std::string_view name) {
    return std::find(std::begin(kSurfaces), std::end(kSurfaces), name) != std::end(kSurfaces);
}

/// A prefix: "/" followed by path segments of letters, digits, '-', '_' and '.', no trailing '/'.
bool valid_prefix(std::string_view p) {
    if (p.size() < 2 || p.front() != '/' || p.back() == '/' || p.find("//") != std::string_view::npos) {
        return false;
    }
    return std::all_of(p.begin(), p.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
               c == '.' || c == '/';
    });
}

/// The route as the router will match it: the prefix added, the trailing slash dropped, every
/// parameter the same.
std::string normalized(const std::string& prefix, const std::string& path) {
    std::string full = prefix + path;
    while (full.size() > 1 && full.back() == '/') {
        full.pop_back();
    }
    std::string out;
    for (std::size_t i = 0; i < full.size(); ++i) {
        if (full[i] == '{') {
            out += "{}";
            i = full.find('}', i);
            if (i == std::string::npos) {
                break;
            }
        } else {
            out.push_back(full[i]);
        }
    }
    return out;
}

}  // namespace

std::vector<Mount> parse_mounts(std::string_view text) {
    std::vector<Mount> mounts;
    bool all = false;
    while (!text.empty()) {
        const auto comma = text.find(',');
        const std::string item = trim(text.substr(0, comma));
        text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
        if (item.empty()) {
            continue;
        }
        if (item == "all") {
            all = true;
            continue;
        }
        const auto at = item.find('@');
        Mount m{item.substr(0, at), at == std::string::npos ? std::string() : item.substr(at + 1), false};
        if (!known(m.surface)) {
            throw std::invalid_argument("unknown surface '" + m.surface +
                                        "' (smartcar-webhooks, smartcar-integration, membership-auto, "
                                        "charging-balancer, vehicle-catalog or all)");
        }
        if (at != std::string::npos && !valid_prefix(m.prefix)) {
            throw std::invalid_argument("the prefix of " + m.surface + " must look like /catalog (got '" + m.prefix +
                                        "')");
        }
        if (std::any_of(mounts.begin(), mounts.end(), [&](const Mount& o) { return o.surface == m.surface; })) {
            throw std::invalid_argument(m.surface + " is named twice");
        }
        mounts.push_back(std::move(m));
    }
    if (all) {
        for (auto name : kSurfaces) {
            if (std::none_of(mounts.begin(), mounts.end(), [&](const Mount& m) { return m.surface == name; })) {
                mounts.push_back({std::string(name), "", true});
            }
        }
    }
    return mounts;
}

std::vector<Mount> resolve_collisions(std::vector<Mount> mounts, std::vector<std::string>& skipped) {
    // Named mounts first (a collision among them is fatal), then those `all` added.
    std::stable_partition(mounts.begin(), mounts.end(), [](const Mount& m) { return !m.from_all; });
    std::map<std::pair<http::Method, std::string>, std::string> claimed;  // route -> surface
    std::vector<Mount> kept;
    for (auto& m : mounts) {
        std::vector<std::pair<http::Method, std::string>> mine;
        std::string clash;
        for (const auto& r : surface_routes(m.surface)) {
            auto key = std::make_pair(r.method, normalized(m.prefix, r.path));
            if (auto it = claimed.find(key); it != claimed.end() && clash.empty()) {
                clash = it->second + " and " + m.surface + " both serve " + std::string(http::method_name(r.method)) +
                        " " + key.second;
            }
            mine.push_back(std::move(key));
        }
        if (!clash.empty()) {
            if (!m.from_all) {
                throw std::invalid_argument(clash + ": mount one under a prefix (" + m.surface + "@/prefix)");
            }
            skipped.push_back(clash + ": " + m.surface + " is not mounted by `all` (name it with a prefix)");
            continue;
        }
        for (auto& key : mine) {
            claimed.emplace(std::move(key), m.surface);
        }
        kept.push_back(std::move(m));
    }
    return kept;
}

}  // namespace motorpool::compat
