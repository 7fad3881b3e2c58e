// The journal family's persist stage: an OrderStore whose state lives in
// memory (journal_state.h) and whose every change is first appended to the
// journal file (journal_file.h), so a restart replays it back.
#pragma once

#include <string>

#include "flashsale/order_store.h"

namespace flashsale::journal {

// Opens (or creates) the journal at path and replays it. With sync, every
// change is fdatasync()ed before the call that made it returns. Throws
// JournalError with one line when the file cannot be used.
OrderStore* open_journal_store(const std::string& path, bool sync);

}  // namespace flashsale::journal
