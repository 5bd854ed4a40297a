// The vehicles import command: progress on standard error (a bar on a terminal, a line every few
// seconds otherwise), the summary and every rejected row on standard output.

#include "import_cli.hpp"

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app/app.hpp"
#include "core/errors.hpp"
#include "vehicles/vehicles.hpp"

namespace motorpool::app {

namespace {

// The whole file as read-only memory: the parser then works on one string_view.
class MappedFile {
public:
    explicit MappedFile(const std::string& path) {
        fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd_ < 0) {
            throw core::InputError("cannot open " + path + ": " + std::strerror(errno));
        }
        struct stat st {};
        if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
            ::close(fd_);
            throw core::InputError(path + " is not a regular file");
        }
        size_ = static_cast<std::size_t>(st.st_size);
        if (size_ > 0) {
            data_ = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd_, 0);
            if (data_ == MAP_FAILED) {
                ::close(fd_);
                throw std::runtime_error("cannot map " + path);
            }
            ::madvise(data_, size_, MADV_SEQUENTIAL);
        }
    }
    ~MappedFile() {
        if (data_ != nullptr && data_ != MAP_FAILED) {
            ::munmap(data_, size_);
        }
        ::close(fd_);
    }
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;
    std::string_view text() const {
        return size_ == 0 ? std::string_view() : std::string_view(static_cast<const char*>(data_), size_);
    }

private:
    int fd_ = -1;
    void* data_ = nullptr;
    std::size_t size_ = 0;
};

class Progress {
public:
    Progress() : terminal_(::isatty(STDERR_FILENO) != 0), started_(std::chrono::steady_clock::now()) {}

    void update(std::int64_t rows, std::uint64_t bytes, std::uint64_t total) {
        auto now = std::chrono::steady_clock::now();
        double elapsed = std::chrono::duration<double>(now - started_).count();
        double fraction = total == 0 ? 1.0 : static_cast<double>(bytes) / static_cast<double>(total);
        double rate = elapsed > 0 ? static_cast<double>(rows) / elapsed : 0;
        if (terminal_) {
            constexpr int kWidth = 30;
            int filled = static_cast<int>(fraction * kWidth);
            std::string bar(static_cast<std::size_t>(filled), '#');
            bar.resize(kWidth, '.');
            std::fprintf(stderr,
                         "\r[%s] %3.0f%%  %lld rows  %.0f rows/s ",
                         bar.c_str(),
                         fraction * 100,
                         static_cast<long long>(rows),
                         rate);
            std::fflush(stderr);
            drawn_ = true;
        } else if (now - last_line_ >= std::chrono::seconds(5) || fraction >= 1.0) {
            last_line_ = now;
            std::fprintf(stderr,
                         "import: %lld rows (%.0f%%), %.0f rows/s\n",
                         static_cast<long long>(rows),
                         fraction * 100,
                         rate);
        }
    }

    void finish() {
        if (drawn_) {
            std::fputc('\n', stderr);
        }
    }

private:
    bool terminal_;
    bool drawn_ = false;
    std::chrono::steady_clock::time_point started_;
    std::chrono::steady_clock::time_point last_line_{};
};

}  // namespace

int run_import_vehicles(Config config, const ImportCommand& command) {
    MappedFile file(command.file);
    config.database.auto_migrate = true;
    config.core.worker_threads = 2;
    config.database.options.pool_size = 2;
    App app(std::move(config), nullptr, std::vector<std::string_view>{});  // the database only

    Progress progress;
    vehicles::ImportOptions options;
    options.limit = command.limit;
    options.owner_email = command.owner_email;
    options.batch_size = command.batch_size;
    options.reassign_owner = command.reassign_owner;
    options.skip_existing = command.skip_existing;
    options.progress = [&progress](std::int64_t rows, std::uint64_t bytes, std::uint64_t total) {
        progress.update(rows, bytes, total);
    };
    vehicles::ImportSummary summary = vehicles::import_vehicles_csv(app.database(), file.text(), options);
    progress.finish();

    for (const auto& warning : summary.warnings) {
        std::printf("warning: %s\n", warning.c_str());
    }
    double rate = summary.seconds > 0 ? static_cast<double>(summary.rows) / summary.seconds : 0;
    std::printf("imported %s in %.2f s (%.0f rows/s)\n", command.file.c_str(), summary.seconds, rate);
    std::printf("  rows read  %lld\n  inserted   %lld\n  updated    %lld\n  unchanged  %lld\n  rejected   %lld\n",
                static_cast<long long>(summary.rows),
                static_cast<long long>(summary.inserted),
                static_cast<long long>(summary.updated),
                static_cast<long long>(summary.unchanged),
                static_cast<long long>(summary.rejected));
    if (command.skip_existing) {
        std::printf("  skipped    %lld (known VINs left as they were: --skip-existing)\n",
                    static_cast<long long>(summary.skipped));
    }
    if (summary.owner_kept > 0) {
        std::printf(
            "  owner kept %lld (known vehicles another account owns kept their owner; --reassign-owner gives "
            "them to %s)\n",
            static_cast<long long>(summary.owner_kept),
            command.owner_email.value_or("").c_str());
    }
    if (!summary.rejects.empty()) {
        std::printf("rejected rows:\n");
        for (const auto& r : summary.rejects) {
            std::printf("  line %lld%s%s: %s\n",
                        static_cast<long long>(r.line),
                        r.vin.empty() ? "" : " ",
                        r.vin.c_str(),
                        r.reason.c_str());
        }
        if (summary.rejected > static_cast<std::int64_t>(summary.rejects.size())) {
            std::printf("  ... and %lld more\n",
                        static_cast<long long>(summary.rejected - static_cast<std::int64_t>(summary.rejects.size())));
        }
    }
    std::fflush(stdout);
    return summary.rejected > 0 ? 4 : 0;
}

}  // namespace motorpool::app
