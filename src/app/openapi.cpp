#include <string_view>

#include "app/app.hpp"

namespace motorpool::app::generated {
const std::pair<std::string_view, std::string_view>* kApiDocuments_data();
std::size_t kApiDocuments_count();
}  // namespace motorpool::app::generated

namespace motorpool::app {

std::string_view openapi_document() {
    const auto* files = generated::kApiDocuments_data();
    for (std::size_t i = 0; i < generated::kApiDocuments_count(); ++i) {
        if (files[i].first == "openapi.json") {
            return files[i].second;
        }
    }
    return "{}";
}

}  // namespace motorpool::app
