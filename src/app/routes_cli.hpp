#pragma once
// `motorpool routes`: every route this configuration serves, with how it authenticates and what
// it accepts: the endpoint inventory of docs/security.md (OWASP API9). Private to the executable.

#include "app/config.hpp"

namespace motorpool::app {

/// Installs the modules (on a throwaway in-memory database), prints the table; exit status 0.
/// `markdown`: a Markdown table (what docs/security.md holds), else aligned text.
int run_routes(Config config, bool markdown);

}  // namespace motorpool::app
