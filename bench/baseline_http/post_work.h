// What the baseline server does for each POST besides answering it: nothing
// (the framework ceiling), one Redis command (--redis) or one order row
// written to SQLite (--sqlite).
#pragma once

namespace flashsale::bench {

class PostWork {
 public:
  virtual ~PostWork() = default;
  // False when the work failed; the POST is then answered 500.
  virtual bool once() = 0;
};

}  // namespace flashsale::bench
