// The status table. See table.hpp.
#include "table.hpp"

#include <algorithm>

namespace revaer {

namespace {
// Tombstones kept before the oldest half is forgotten (a caller older than that resyncs).
constexpr std::size_t kMaxTombstones = 65536;
}  // namespace

Entry* StatusTable::find(const std::string& h) {
    auto it = entries_.find(h);
    return it == entries_.end() ? nullptr : it->second.get();
}

Entry& StatusTable::insert(const std::string& h, std::unique_ptr<Entry> e, Row&& row) {
    Entry& ref = *e;
    entries_.emplace(h, std::move(e));
    publish(ref, std::move(row));
    return ref;
}

void StatusTable::publish(Entry& e, Row&& row) {
    row.version = ++version_;
    e.row = std::make_shared<const Row>(std::move(row));
    if (newest_ == &e) return;
    unlink(e);
    e.older = newest_;
    if (newest_)
        newest_->newer = &e;
    else
        oldest_ = &e;
    newest_ = &e;
}

void StatusTable::unlink(Entry& e) {
    if (e.older)
        e.older->newer = e.newer;
    else if (oldest_ == &e)
        oldest_ = e.newer;
    if (e.newer)
        e.newer->older = e.older;
    else if (newest_ == &e)
        newest_ = e.older;
    e.older = e.newer = nullptr;
}

void StatusTable::drop(const std::string& h) {
    auto found = entries_.find(h);
    if (found == entries_.end()) return;
    unlink(*found->second);
    entries_.erase(found);
    tombstones_.emplace_back(++version_, h);
    if (tombstones_.size() > kMaxTombstones) {
        auto cut = tombstones_.begin() + kMaxTombstones / 2;
        tomb_floor_ = (cut - 1)->first;
        tombstones_.erase(tombstones_.begin(), cut);
    }
}

void StatusTable::clear() {
    oldest_ = newest_ = nullptr;
    entries_.clear();
}

std::vector<RowPtr> StatusTable::snapshot() const {
    std::vector<RowPtr> out;
    out.reserve(entries_.size());
    for (const auto& kv : entries_) out.push_back(kv.second->row);
    return out;
}

RowPtr StatusTable::get(const std::string& h) const {
    auto it = entries_.find(h);
    return it == entries_.end() ? nullptr : it->second->row;
}

Changes StatusTable::changed_since(std::int64_t since) const {
    Changes ch;
    ch.version = version_;
    if (since < tomb_floor_) {
        ch.resync = true;
        return ch;
    }
    if (since >= version_) return ch;
    for (const Entry* e = newest_; e != nullptr && e->row->version > since; e = e->older)
        ch.rows.push_back(e->row);
    std::reverse(ch.rows.begin(), ch.rows.end());
    auto it = std::upper_bound(tombstones_.begin(), tombstones_.end(), since,
                               [](std::int64_t v, const auto& t) { return v < t.first; });
    for (; it != tombstones_.end(); ++it) ch.removed.push_back(it->second);
    return ch;
}

}  // namespace revaer
