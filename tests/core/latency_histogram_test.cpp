#include <catch2/catch.hpp>

#include "pipeline/bucket_histogram.h"

using flashsale::LatencyHistogram;

TEST_CASE("latency histogram: each time lands in the first bucket whose bound holds it", "[latency]") {
  LatencyHistogram histogram;
  for (std::int64_t ms : {0, 1, 2, 3, 10, 11, 60000, 60001, 999999}) histogram.record(ms);
  LatencyHistogram::Counts counts = histogram.counts();
  CHECK(counts[0] == 2);                                       // <= 1: 0 and 1
  CHECK(counts[1] == 1);                                       // <= 2
  CHECK(counts[2] == 1);                                       // <= 5: 3
  CHECK(counts[3] == 1);                                       // <= 10
  CHECK(counts[4] == 1);                                       // <= 20: 11
  CHECK(counts[LatencyHistogram::bounds().size() - 1] == 1);  // <= 60000
  CHECK(counts[LatencyHistogram::kBuckets - 1] == 2);          // beyond every bound
}

TEST_CASE("latency histogram: the bound of a share", "[latency]") {
  LatencyHistogram histogram;
  CHECK(LatencyHistogram::bound_of_share(histogram.counts(), 0.99) == 0);  // nothing recorded
  for (int i = 0; i < 98; ++i) histogram.record(3);
  histogram.record(150);
  histogram.record(150);
  LatencyHistogram::Counts counts = histogram.counts();
  CHECK(LatencyHistogram::bound_of_share(counts, 0.5) == 5);
  CHECK(LatencyHistogram::bound_of_share(counts, 0.98) == 5);
  CHECK(LatencyHistogram::bound_of_share(counts, 0.99) == 200);
  histogram.record(100000);
  CHECK(LatencyHistogram::bound_of_share(histogram.counts(), 1.0) == -1);  // only the open bucket holds all
}
