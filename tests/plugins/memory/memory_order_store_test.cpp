// The memory order store beyond the conformance suite: the input it refuses
// and events for products it does not know.
#include <catch2/catch.hpp>

#include <memory>

#include "memory/memory_stages.h"

namespace flashsale::memory {

TEST_CASE("memory persist: a product with bad fields is refused", "[memory][persist]") {
  std::unique_ptr<OrderStore> store(new_order_store());
  Product created;
  CHECK(store->create_product(NewProduct{"", 1, 1, 0, 1}, &created).code() == Code::invalid_argument);
  CHECK(store->create_product(NewProduct{"p", -1, 1, 0, 1}, &created).code() == Code::invalid_argument);
  CHECK(store->create_product(NewProduct{"p", 1, 1, 5, 5}, &created).code() == Code::invalid_argument);
  REQUIRE(store->create_product(NewProduct{"p", 1, 1, 0, 1}, &created).is_ok());
  CHECK(created.id == 1);
}

TEST_CASE("memory persist: an event for an unknown product fails, the batch still commits", "[memory][persist]") {
  std::unique_ptr<OrderStore> store(new_order_store());
  Product product;
  REQUIRE(store->create_product(NewProduct{"p", 10, 100, 0, 1}, &product).is_ok());
  std::vector<PersistResult> results;
  REQUIRE(store
              ->persist({OrderEvent{"a", 1, product.id + 1, 1, 100, 0}, OrderEvent{"b", 1, product.id, 1, 100, 0}},
                        &results)
              .is_ok());
  REQUIRE(results.size() == 2);
  CHECK(results[0].status == RequestStatus::failed);
  CHECK(results[0].reason == "unknown_product");
  CHECK(results[1].status == RequestStatus::success);
  ProductSales sales;
  REQUIRE(store->sales(product.id, &sales).is_ok());
  CHECK(sales.orders == 1);
  CHECK(store->sales(product.id + 1, &sales).code() == Code::not_found);
}

}  // namespace flashsale::memory
