// The translation unit that carries the project's precompiled header (motorpool_pch, see
// src/boost/CMakeLists.txt); every other target reuses that header. Nothing of its own.
