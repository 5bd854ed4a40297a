// PostgreSQL backend (libpq): a pool of connections, prepared statements per connection
// (or unnamed ones behind a transaction-pooling PgBouncer), text-format values typed by OID,
// and a reconnect-and-retry when an idle connection turns out dead (server restart).

#include <charconv>
#include <cstdio>
#include <cstring>
#include <unordered_map>
#include <vector>

#include <libpq-fe.h>
#include <spdlog/spdlog.h>

#include "backends.hpp"
#include "core/text.hpp"

namespace motorpool::db::detail {
namespace {

// Type OIDs from pg_type.h (stable across PostgreSQL versions).
constexpr Oid kBoolOid = 16;
constexpr Oid kInt8Oid = 20;
constexpr Oid kInt2Oid = 21;
constexpr Oid kInt4Oid = 23;
constexpr Oid kFloat4Oid = 700;
constexpr Oid kFloat8Oid = 701;
constexpr Oid kNumericOid = 1700;
constexpr std::int64_t kMaxPrepared = 512;

std::string first_line(const char* text) {
    std::string s = text != nullptr ? text : "";
    if (auto nl = s.find('\n'); nl != std::string::npos) {
        s.resize(nl);
    }
    return s;
}

// The password in a URL (user:password@ or ?password=), raw and percent-decoded, so that it can be
// cut out of libpq's messages: a malformed URL makes libpq quote the offending part.
std::vector<std::string> url_passwords(const std::string& url) {
    std::vector<std::string> found;
    auto scheme = url.find("://");
    if (scheme != std::string::npos) {
        auto authority_end = url.find_first_of("/?", scheme + 3);
        auto authority =
            url.substr(scheme + 3, authority_end == std::string::npos ? std::string::npos : authority_end - scheme - 3);
        auto at = authority.rfind('@');
        auto colon = authority.find(':');
        if (at != std::string::npos && colon != std::string::npos && colon < at) {
            found.push_back(authority.substr(colon + 1, at - colon - 1));
        }
    }
    for (auto pos = url.find("password="); pos != std::string::npos; pos = url.find("password=", pos + 1)) {
        auto start = pos + 9;
        found.push_back(url.substr(start, url.find_first_of("& ", start) - start));
    }
    std::vector<std::string> all;
    for (const auto& raw : found) {
        all.push_back(raw);
        if (auto decoded = core::percent_decode(raw)) {
            all.push_back(*decoded);
        }
    }
    std::erase_if(all, [](const std::string& p) { return p.empty(); });
    return all;
}

std::string redact(std::string message, const std::string& conninfo) {
    for (const auto& password : url_passwords(conninfo)) {
        for (auto pos = message.find(password); pos != std::string::npos; pos = message.find(password, pos)) {
            message.replace(pos, password.size(), "****");
        }
    }
    return message;
}

Error::Kind classify(const std::string& sqlstate) {
    if (sqlstate == "23505") {
        return Error::Kind::UniqueViolation;
    }
    if (sqlstate == "23503") {
        return Error::Kind::ForeignKeyViolation;
    }
    if (sqlstate.rfind("23", 0) == 0) {
        return Error::Kind::ConstraintViolation;
    }
    if (sqlstate == "40001" || sqlstate == "40P01") {
        return Error::Kind::Serialization;
    }
    // Connection failures, shutdowns, and insufficient resources (53: disk full, out of memory, too
    // many connections): transient for the client, a 503.
    if (sqlstate.rfind("08", 0) == 0 || sqlstate.rfind("53", 0) == 0 || sqlstate == "57P01" || sqlstate == "57P02" ||
        sqlstate == "57P03") {
        return Error::Kind::Unavailable;
    }
    return Error::Kind::Other;
}

class PgResult {
public:
    explicit PgResult(PGresult* r) : r_(r) {}
    ~PgResult() { PQclear(r_); }
    PgResult(const PgResult&) = delete;
    PgResult& operator=(const PgResult&) = delete;
    PGresult* get() const { return r_; }

private:
    PGresult* r_;
};

class PgConnection final : public PooledConnection {
public:
    PgConnection(std::string conninfo, bool prepared) : conninfo_(std::move(conninfo)), prepared_(prepared) {
        // The URL is expanded as "dbname"; anything it sets overrides the defaults listed before it. Without
        // a connect_timeout an unreachable host would block a worker for minutes.
        const char* keys[] = {"connect_timeout", "fallback_application_name", "dbname", nullptr};
        const char* values[] = {"10", "motorpool", conninfo_.c_str(), nullptr};
        conn_ = PQconnectdbParams(keys, values, 1);
        if (PQstatus(conn_) != CONNECTION_OK) {
            // libpq names host and port, not the password, except when quoting a malformed URL.
            std::string message = redact(first_line(PQerrorMessage(conn_)), conninfo_);
            PQfinish(conn_);
            conn_ = nullptr;
            throw Error(Error::Kind::Unavailable, "cannot connect to PostgreSQL: " + message);
        }
        PQsetNoticeProcessor(conn_, &PgConnection::on_notice, nullptr);
    }
    ~PgConnection() override { PQfinish(conn_); }

    Dialect dialect() const override { return Dialect::Postgres; }

    void prepare_for_reuse() noexcept override {
        // A dead connection is reset by its next borrower (ensure_connected), not here: the releasing
        // thread should not wait for a reconnect.
        if (PQstatus(conn_) != CONNECTION_OK) {
            return;
        }
        auto status = PQtransactionStatus(conn_);
        if (status == PQTRANS_INTRANS || status == PQTRANS_INERROR) {
            // Never hand the next borrower someone else's open (or failed) transaction.
            spdlog::warn("PostgreSQL connection returned inside a transaction; rolling back");
            PQclear(PQexec(conn_, "ROLLBACK"));
        }
        if (PQtransactionStatus(conn_) != PQTRANS_IDLE) {
            PQreset(conn_);
            statements_.clear();
        }
    }

    ResultSet query(std::string_view sql, std::span<const Value> params) override {
        ensure_connected();
        const bool idle = PQtransactionStatus(conn_) == PQTRANS_IDLE;
        try {
            return run(sql, params);
        } catch (const Error& e) {
            // A dead connection outside a transaction loses nothing: reconnect and try once more.
            if (e.kind() == Error::Kind::Unavailable && idle && PQstatus(conn_) == CONNECTION_BAD) {
                spdlog::warn("PostgreSQL connection lost; reconnecting");
                reconnect();
                return run(sql, params);
            }
            throw;
        }
    }

    void execute_script(std::string_view sql) override {
        ensure_connected();
        const bool idle = PQtransactionStatus(conn_) == PQTRANS_IDLE;
        std::string text(sql);
        PgResult result(PQexec(conn_, text.c_str()));
        if (!ok(result.get()) && idle && PQstatus(conn_) == CONNECTION_BAD) {
            spdlog::warn("PostgreSQL connection lost; reconnecting");
            reconnect();
            PgResult retry(PQexec(conn_, text.c_str()));
            check(retry.get());
            return;
        }
        check(result.get());
    }

private:
    // Server notices (e.g. "there is no transaction in progress") go to the log, not raw stderr.
    static void on_notice(void*, const char* message) { spdlog::debug("PostgreSQL notice: {}", first_line(message)); }

    void ensure_connected() {
        if (PQstatus(conn_) != CONNECTION_OK) {
            reconnect();
        }
    }

    // The server's prepared statements died with the session, so the cache goes too.
    void reconnect() {
        statements_.clear();
        PQreset(conn_);
        if (PQstatus(conn_) != CONNECTION_OK) {
            throw Error(Error::Kind::Unavailable,
                        "cannot reconnect to PostgreSQL: " + redact(first_line(PQerrorMessage(conn_)), conninfo_));
        }
    }

    static bool ok(PGresult* r) {
        auto status = PQresultStatus(r);
        return r != nullptr && (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK);
    }

    void check(PGresult* r) {
        if (ok(r)) {
            return;
        }
        const char* sqlstate = r != nullptr ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
        if (sqlstate == nullptr) {
            // No server error: libpq itself failed (connection lost, out of memory).
            throw Error(Error::Kind::Unavailable, "PostgreSQL: " + first_line(PQerrorMessage(conn_)));
        }
        const char* primary = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
        const char* constraint = PQresultErrorField(r, PG_DIAG_CONSTRAINT_NAME);
        // A fatal error that also closed the session (e.g. the server shutting down) is Unavailable
        // whatever its SQLSTATE, so that query() reconnects.
        throw Error(PQstatus(conn_) == CONNECTION_BAD ? Error::Kind::Unavailable : classify(sqlstate),
                    std::string("PostgreSQL: ") + (primary != nullptr ? primary : "error"),
                    constraint != nullptr ? constraint : "",
                    std::string_view(sqlstate) == "53100");
    }

    ResultSet run(std::string_view sql, std::span<const Value> params) {
        std::vector<std::string> texts(params.size());
        std::vector<const char*> values(params.size(), nullptr);
        for (std::size_t i = 0; i < params.size(); ++i) {
            std::visit(
                [&](const auto& v) {
                    using T = std::decay_t<decltype(v)>;
                    if constexpr (std::is_same_v<T, std::monostate>) {
                        values[i] = nullptr;
                        return;
                    } else if constexpr (std::is_same_v<T, std::int64_t>) {
                        texts[i] = std::to_string(v);
                    } else if constexpr (std::is_same_v<T, double>) {
                        char buf[32];
                        int n = std::snprintf(buf, sizeof buf, "%.17g", v);
                        texts[i].assign(buf, static_cast<std::size_t>(n));
                    } else if constexpr (std::is_same_v<T, bool>) {
                        texts[i] = v ? "true" : "false";
                    } else {
                        texts[i] = v;
                    }
                    values[i] = texts[i].c_str();
                },
                params[i]);
        }
        const int n = static_cast<int>(params.size());
        PGresult* raw = nullptr;
        if (prepared_) {
            std::string key(sql);
            auto it = statements_.find(key);
            if (it == statements_.end()) {
                if (static_cast<std::int64_t>(statements_.size()) >= kMaxPrepared) {
                    PgResult dealloc(PQexec(conn_, "DEALLOCATE ALL"));
                    statements_.clear();
                }
                std::string name = "mp_" + std::to_string(next_statement_++);
                PgResult prepared(PQprepare(conn_, name.c_str(), key.c_str(), n, nullptr));
                check(prepared.get());
                it = statements_.emplace(std::move(key), std::move(name)).first;
            }
            raw = PQexecPrepared(conn_, it->second.c_str(), n, values.data(), nullptr, nullptr, 0);
        } else {
            std::string text(sql);
            raw = PQexecParams(conn_, text.c_str(), n, nullptr, values.data(), nullptr, nullptr, 0);
        }
        PgResult result(raw);
        check(result.get());
        return to_result_set(result.get());
    }

    static ResultSet to_result_set(PGresult* r) {
        ResultSet out;
        const int rows = PQntuples(r);
        const int columns = PQnfields(r);
        std::vector<Oid> types(static_cast<std::size_t>(columns));
        for (int c = 0; c < columns; ++c) {
            out.columns.emplace_back(PQfname(r, c));
            types[static_cast<std::size_t>(c)] = PQftype(r, c);
        }
        out.rows.reserve(static_cast<std::size_t>(rows));
        for (int i = 0; i < rows; ++i) {
            std::vector<Value> row;
            row.reserve(static_cast<std::size_t>(columns));
            for (int c = 0; c < columns; ++c) {
                if (PQgetisnull(r, i, c) != 0) {
                    row.emplace_back(std::monostate{});
                    continue;
                }
                const char* text = PQgetvalue(r, i, c);
                const auto len = static_cast<std::size_t>(PQgetlength(r, i, c));
                switch (types[static_cast<std::size_t>(c)]) {
                    case kInt2Oid:
                    case kInt4Oid:
                    case kInt8Oid: {
                        std::int64_t v = 0;
                        std::from_chars(text, text + len, v);
                        row.emplace_back(v);
                        break;
                    }
                    case kFloat4Oid:
                    case kFloat8Oid:
                    case kNumericOid:
                        row.emplace_back(std::strtod(text, nullptr));
                        break;
                    case kBoolOid:
                        row.emplace_back(text[0] == 't');
                        break;
                    default:
                        row.emplace_back(std::string(text, len));
                }
            }
            out.rows.push_back(std::move(row));
        }
        const char* affected = PQcmdTuples(r);
        if (affected != nullptr && affected[0] != '\0') {
            std::from_chars(affected, affected + std::strlen(affected), out.affected);
        }
        return out;
    }

    std::string conninfo_;
    bool prepared_;
    PGconn* conn_ = nullptr;
    std::unordered_map<std::string, std::string> statements_;
    std::int64_t next_statement_ = 0;
};

class PostgresDatabase final : public Database {
public:
    PostgresDatabase(const Options& options, const std::string& conninfo, core::WorkerPool& workers)
        : Database(workers),
          pool_(
              [conninfo, prepared = options.pg_prepared_statements] {
                  return std::make_unique<PgConnection>(conninfo, prepared);
              },
              options.pool_size,
              options.acquire_timeout) {
        // Connect once now so a wrong URL or a down server fails at startup with a clear message.
        Lease first = pool_.acquire();
        (void)first;
    }
    ~PostgresDatabase() override { close(); }

    Dialect dialect() const override { return Dialect::Postgres; }
    Lease acquire_reader() override { return pool_.acquire(); }
    Lease acquire_writer() override { return pool_.acquire(); }

    bool ping() noexcept override {
        try {
            // Short: a readiness probe should answer quickly, and a pool this busy is not ready anyway.
            Lease lease = pool_.acquire(std::chrono::milliseconds(1000));
            return !lease->query("SELECT 1").empty();
        } catch (...) {
            return false;
        }
    }

    PoolStats stats() const override { return pool_.stats(); }

    void close() override {
        if (closed_.exchange(true)) {
            return;
        }
        if (group_commit_) {
            group_commit_->stop();
        }
        pool_.close();
    }

private:
    Pool pool_;
    std::atomic<bool> closed_{false};
};

}  // namespace

std::unique_ptr<Database> open_postgres(const Options& options,
                                        const std::string& conninfo,
                                        core::WorkerPool& workers) {
    return std::make_unique<PostgresDatabase>(options, conninfo, workers);
}

}  // namespace motorpool::db::detail
