#pragma once
// Taking card payments is out of motorpool's scope: memberships charge through this interface.
// The development provider settles every charge at once; a real provider (a payment service's
// API, confirmed by its webhook) is another implementation, chosen by MOTORPOOL_PAYMENT_PROVIDER,
// with nothing else changed.

#include <cstdint>
#include <memory>
#include <string>

namespace motorpool::membership {

struct ChargeRequest {
    std::int64_t user_id = 0;
    std::int64_t amount_cents = 0;
    std::string currency = "EUR";
    std::string description;
    std::string idempotency_key;  // the charge's own id: a retry must not charge twice
};

struct ChargeResult {
    bool settled = false;
    std::string provider;   // "development"
    std::string reference;  // the provider's id of the charge
    std::string failure;    // why not settled
};

class PaymentProvider {
public:
    virtual ~PaymentProvider() = default;
    virtual std::string name() const = 0;
    /// Blocking (a worker thread).
    virtual ChargeResult charge(const ChargeRequest& request) = 0;
};

/// Settles every charge at once, referenced by its idempotency key.
std::unique_ptr<PaymentProvider> development_provider();

}  // namespace motorpool::membership
