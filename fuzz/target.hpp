#pragma once
// The fuzz targets, one per parser, linked into one libFuzzer binary (motorpool_fuzz: one link of
// the whole server instead of one per target); MOTORPOOL_FUZZ_TARGET names the one a run drives.
// Each returns 0, or -1 for an input it refuses to keep in the corpus (libFuzzer's convention).

#include <cstddef>
#include <cstdint>

namespace motorpool::fuzz {

int http_session(const std::uint8_t* data, std::size_t size);
int ws_hub(const std::uint8_t* data, std::size_t size);
int json_body(const std::uint8_t* data, std::size_t size);
int csv_import(const std::uint8_t* data, std::size_t size);
int vin(const std::uint8_t* data, std::size_t size);
int smartcar_webhook(const std::uint8_t* data, std::size_t size);
int query(const std::uint8_t* data, std::size_t size);
int ocpp_frame(const std::uint8_t* data, std::size_t size);
int availability(const std::uint8_t* data, std::size_t size);
int upload_headers(const std::uint8_t* data, std::size_t size);

}  // namespace motorpool::fuzz
