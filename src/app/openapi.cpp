#include <string_view>

#include "app/app.hpp"

namespace motorpool::app::generated {
// Names chosen by cmake/embed_files_script.cmake.
const std::pair<std::string_view, std::string_view>* kApiDocuments_data();  // NOLINT(readability-identifier-naming)
std::size_t kApiDocuments_count();                                          // NOLINT(readability-identifier-naming)
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
