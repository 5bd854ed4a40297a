#pragma once
// CLI commands around Smartcar: the simulator on its own, and token key rotation.

#include "app/config.hpp"

namespace motorpool::app {

/// `motorpool smartcar-sim --port P`: the Smartcar simulator alone at the root of its own server.
int run_smartcar_simulator(Config config, int port);

/// `motorpool keys generate`: prints a new MOTORPOOL_ENCRYPTION_KEY.
int run_keys_generate();

/// `motorpool keys rotate`: re-seals every stored token under MOTORPOOL_ENCRYPTION_KEY, opening
/// older values with MOTORPOOL_ENCRYPTION_KEYS_PREVIOUS.
int run_keys_rotate(Config config);

}  // namespace motorpool::app
