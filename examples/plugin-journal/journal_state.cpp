#include "journal_state.h"

#include <algorithm>
#include <charconv>
#include <iterator>
#include <utility>

#include "journal_file.h"

namespace flashsale::journal {

namespace {

// Each character a field cannot hold as it is, and the letter that stands for
// it after a backslash.
constexpr std::pair<char, char> kEscapes[] = {{' ', 's'}, {'\n', 'n'}, {'\r', 'r'}, {'\\', '\\'}};

std::string escape(const std::string& text) {
  if (text.empty()) return "\\e";
  std::string out;
  for (char c : text) {
    const auto* found = std::find_if(std::begin(kEscapes), std::end(kEscapes), [c](auto e) { return e.first == c; });
    if (found != std::end(kEscapes)) {
      out += '\\';
      c = found->second;
    }
    out += c;
  }
  return out;
}

// Builds a fact line: its kind, then each field after one space.
class Line {
 public:
  explicit Line(const char* kind) : text_(kind) {}
  Line& operator<<(std::int64_t value) {
    text_ += " " + std::to_string(value);
    return *this;
  }
  Line& operator<<(const std::string& text) {
    text_ += " " + escape(text);
    return *this;
  }
  operator std::string() const { return text_; }

 private:
  std::string text_;
};

// Reads a fact line field by field; throws JournalError on anything else.
class Fields {
 public:
  explicit Fields(const std::string& line) : line_(line) { kind_ = next(); }
  const std::string& kind() const { return kind_; }

  std::int64_t integer() {
    std::string field = next();
    std::int64_t value = 0;
    auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), value);
    if (ec != std::errc() || end != field.data() + field.size()) throw JournalError("not an integer: " + field);
    return value;
  }

  std::string text() {
    std::string field = next(), out;
    if (field == "\\e") return out;
    for (std::size_t i = 0; i < field.size(); ++i) {
      if (field[i] != '\\') {
        out += field[i];
        continue;
      }
      char letter = ++i < field.size() ? field[i] : '?';
      const auto* found =
          std::find_if(std::begin(kEscapes), std::end(kEscapes), [letter](auto e) { return e.second == letter; });
      if (found == std::end(kEscapes)) throw JournalError("bad escape in " + field);
      out += found->first;
    }
    return out;
  }

  void end() const {
    if (at_ != std::string::npos) throw JournalError("extra fields in " + kind_);
  }

 private:
  std::string next() {
    if (at_ == std::string::npos) throw JournalError("missing fields in " + line_);
    std::size_t space = line_.find(' ', at_);
    std::string field = line_.substr(at_, space == std::string::npos ? space : space - at_);
    at_ = space == std::string::npos ? space : space + 1;
    return field;
  }

  const std::string& line_;
  std::string kind_;
  std::size_t at_ = 0;
};

}  // namespace

std::string product_fact(const Product& product) {
  return Line("product") << product.id << product.stock << product.sale_price << product.start_ms << product.end_ms
                         << std::int64_t{product.stock_shards} << product.name;
}

std::string order_fact(const Order& order) {
  return Line("order") << order.id << order.request_id << order.user_id << order.product_id
                       << std::int64_t{order.quantity} << order.amount << order.created_ms << order.deadline_ms;
}

std::string failed_fact(const std::string& request_id, ProductId product_id, const std::string& reason) {
  return Line("failed") << request_id << product_id << reason;
}

std::string paid_fact(OrderId id, const std::string& payment_id, UnixMillis paid_ms) {
  return Line("paid") << id << payment_id << paid_ms;
}

std::string cancelled_fact(OrderId id, const std::string& reason, UnixMillis cancelled_ms) {
  return Line("cancelled") << id << reason << cancelled_ms;
}

std::string returned_fact(OrderId id) {
  return Line("returned") << id;
}

std::string top_up_fact(const StockReturn& top_up) {
  return Line("top_up") << top_up.top_up_id << top_up.product_id << std::int64_t{top_up.quantity};
}

std::string topped_up_fact(TopUpId id) {
  return Line("topped_up") << id;
}

void State::apply(const std::string& fact) {
  Fields fields(fact);
  const std::string& kind = fields.kind();
  if (kind == "product") {
    Product product;
    product.id = fields.integer();
    product.stock = fields.integer();
    product.sale_price = fields.integer();
    product.start_ms = fields.integer();
    product.end_ms = fields.integer();
    product.stock_shards = static_cast<std::int32_t>(fields.integer());
    product.name = fields.text();
    fields.end();
    add_product(product);
  } else if (kind == "order") {
    Order order;
    order.id = fields.integer();
    order.request_id = fields.text();
    order.user_id = fields.integer();
    order.product_id = fields.integer();
    order.quantity = static_cast<std::int32_t>(fields.integer());
    order.amount = fields.integer();
    order.created_ms = fields.integer();
    order.deadline_ms = fields.integer();
    fields.end();
    add_order(order);
  } else if (kind == "failed") {
    std::string request_id = fields.text();
    ProductId product_id = fields.integer();
    std::string reason = fields.text();
    fields.end();
    add_failure(request_id, product_id, reason);
  } else if (kind == "paid") {
    OrderId id = fields.integer();
    std::string payment_id = fields.text();
    UnixMillis paid_ms = fields.integer();
    fields.end();
    mark_paid(id, payment_id, paid_ms);
  } else if (kind == "cancelled") {
    OrderId id = fields.integer();
    std::string reason = fields.text();
    UnixMillis cancelled_ms = fields.integer();
    fields.end();
    mark_cancelled(id, reason, cancelled_ms);
  } else if (kind == "returned") {
    OrderId id = fields.integer();
    fields.end();
    mark_returned(id);
  } else if (kind == "top_up") {
    StockReturn top_up;
    top_up.top_up_id = fields.integer();
    top_up.product_id = fields.integer();
    top_up.quantity = static_cast<std::int32_t>(fields.integer());
    fields.end();
    add_top_up(top_up);
  } else if (kind == "topped_up") {
    TopUpId id = fields.integer();
    fields.end();
    mark_topped_up(id);
  } else {
    throw JournalError("unknown fact '" + kind + "'");
  }
}

void State::add_product(const Product& product) {
  if (!products_.emplace(product.id, product).second) {
    throw JournalError("product " + std::to_string(product.id) + " twice");
  }
  sales_.emplace(product.id, ProductSales{});
  next_product_id_ = std::max(next_product_id_, product.id + 1);
}

void State::add_order(const Order& order) {
  auto sales = sales_.find(order.product_id);
  if (sales == sales_.end() || requests_.count(order.request_id) != 0 || orders_.count(order.id) != 0 ||
      has_active_order(order.user_id, order.product_id)) {
    throw JournalError("order " + std::to_string(order.id) + " does not fit");
  }
  orders_.emplace(order.id, order);
  requests_.emplace(order.request_id, PersistResult{RequestStatus::success, {}, order.id});
  active_.emplace(std::make_pair(order.user_id, order.product_id), order.id);
  due_.emplace(order.deadline_ms, order.id);
  ++sales->second.orders;
  ++sales->second.orders_awaiting_payment;
  sales->second.quantity_awaiting_payment += order.quantity;
  next_order_id_ = std::max(next_order_id_, order.id + 1);
}

void State::add_failure(const std::string& request_id, ProductId product_id, const std::string& reason) {
  if (!requests_.emplace(request_id, PersistResult{RequestStatus::failed, reason, 0}).second) {
    throw JournalError("request " + request_id + " twice");
  }
  if (auto sales = sales_.find(product_id); sales != sales_.end()) ++sales->second.failed_requests;
}

Order& State::awaiting(OrderId id) {
  auto found = orders_.find(id);
  if (found == orders_.end() || found->second.status != OrderStatus::awaiting_payment) {
    throw JournalError("order " + std::to_string(id) + " is not awaiting payment");
  }
  return found->second;
}

void State::mark_paid(OrderId id, const std::string& payment_id, UnixMillis paid_ms) {
  Order& order = awaiting(id);
  order.status = OrderStatus::paid;
  order.payment_id = payment_id;
  order.paid_ms = paid_ms;
  due_.erase({order.deadline_ms, id});
  ProductSales& sales = sales_.at(order.product_id);
  --sales.orders_awaiting_payment;
  sales.quantity_awaiting_payment -= order.quantity;
  ++sales.orders_paid;
  sales.quantity_paid += order.quantity;
}

void State::mark_cancelled(OrderId id, const std::string& reason, UnixMillis cancelled_ms) {
  Order& order = awaiting(id);
  order.status = OrderStatus::cancelled;
  order.cancel_reason = reason;
  order.cancelled_ms = cancelled_ms;
  order.stock_return_pending = true;
  due_.erase({order.deadline_ms, id});
  active_.erase({order.user_id, order.product_id});
  returns_.insert(id);
  ProductSales& sales = sales_.at(order.product_id);
  --sales.orders_awaiting_payment;
  sales.quantity_awaiting_payment -= order.quantity;
  ++sales.orders_cancelled;
  sales.quantity_cancelled += order.quantity;
  sales.quantity_returns_pending += order.quantity;
}

void State::mark_returned(OrderId id) {
  if (returns_.erase(id) == 0) throw JournalError("order " + std::to_string(id) + " has no pending return");
  Order& order = orders_.at(id);
  order.stock_return_pending = false;
  sales_.at(order.product_id).quantity_returns_pending -= order.quantity;
}

void State::add_top_up(const StockReturn& top_up) {
  auto sales = sales_.find(top_up.product_id);
  if (sales == sales_.end()) throw JournalError("top-up of unknown product " + std::to_string(top_up.product_id));
  if (top_up.top_up_id < next_top_up_id_ || top_up.quantity <= 0) {
    throw JournalError("top-up " + std::to_string(top_up.top_up_id) + " is out of order or empty");
  }
  top_ups_.emplace(top_up.top_up_id, top_up);
  next_top_up_id_ = top_up.top_up_id + 1;
  sales->second.count_top_up_recorded(top_up.quantity);
}

void State::mark_topped_up(TopUpId id) {
  auto pending = top_ups_.find(id);
  if (pending == top_ups_.end()) throw JournalError("top-up " + std::to_string(id) + " is not pending");
  sales_.at(pending->second.product_id).count_top_up_completed(pending->second.quantity);
  top_ups_.erase(pending);
}

const Product* State::product(ProductId id) const {
  auto found = products_.find(id);
  return found == products_.end() ? nullptr : &found->second;
}

const ProductSales* State::sales(ProductId id) const {
  auto found = sales_.find(id);
  return found == sales_.end() ? nullptr : &found->second;
}

const Order* State::order(OrderId id) const {
  auto found = orders_.find(id);
  return found == orders_.end() ? nullptr : &found->second;
}

const PersistResult* State::request(const std::string& request_id) const {
  auto found = requests_.find(request_id);
  return found == requests_.end() ? nullptr : &found->second;
}

bool State::has_active_order(UserId user, ProductId product) const {
  return active_.count({user, product}) != 0;
}

std::vector<OrderId> State::due(UnixMillis now, std::size_t limit) const {
  std::vector<OrderId> ids;
  for (auto it = due_.begin(); it != due_.end() && it->first <= now && ids.size() < limit; ++it) {
    ids.push_back(it->second);
  }
  return ids;
}

std::vector<OrderId> State::pending_returns(OrderId after, std::size_t limit) const {
  std::vector<OrderId> ids;
  for (auto it = returns_.upper_bound(after); it != returns_.end() && ids.size() < limit; ++it) ids.push_back(*it);
  return ids;
}

std::vector<StockReturn> State::pending_top_ups(TopUpId after, std::size_t limit) const {
  std::vector<StockReturn> pending;
  for (auto it = top_ups_.upper_bound(after); it != top_ups_.end() && pending.size() < limit; ++it) {
    pending.push_back(it->second);
  }
  return pending;
}

}  // namespace flashsale::journal
