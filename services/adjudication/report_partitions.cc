#include "services/adjudication/report_partitions.h"

#include <memory>
#include <utility>

namespace claims::adjudication {

// A fold that tells HeldPartitions when it is opened and dropped; everything else is the inner
// fold's.
class HeldPartitions::TrackedFold : public processor::PartitionFold {
 public:
  TrackedFold(HeldPartitions& held, int32_t partition,
              std::unique_ptr<processor::PartitionFold> inner)
      : held_(held), partition_(partition), inner_(std::move(inner)) {
    held_.Opened(partition_);
  }
  ~TrackedFold() override { held_.Dropped(partition_); }

  Status Apply(const bus::Message& input, store::WriteBatch& batch,
               std::vector<bus::OutgoingMessage>& outputs) override {
    return inner_->Apply(input, batch, outputs);
  }
  Status ApplySilently(const bus::Message& input, store::WriteBatch& batch) override {
    return inner_->ApplySilently(input, batch);
  }
  Status Finish(store::WriteBatch& batch) override { return inner_->Finish(batch); }

 private:
  HeldPartitions& held_;
  const int32_t partition_;
  std::unique_ptr<processor::PartitionFold> inner_;
};

HeldPartitions::Snapshot HeldPartitions::Get() const {
  std::lock_guard<std::mutex> lock(mu_);
  Snapshot s;
  s.version = version_;
  for (const auto& [partition, open] : open_) s.partitions.push_back(partition);
  return s;
}

processor::FoldFactory HeldPartitions::Track(processor::FoldFactory inner) {
  return [this, inner = std::move(inner)](
             int32_t partition,
             store::StateStore& store) -> Result<std::unique_ptr<processor::PartitionFold>> {
    Result<std::unique_ptr<processor::PartitionFold>> fold = inner(partition, store);
    if (!fold.ok()) return fold.status();
    return std::unique_ptr<processor::PartitionFold>(
        new TrackedFold(*this, partition, std::move(fold).value()));
  };
}

void HeldPartitions::Opened(int32_t partition) {
  std::lock_guard<std::mutex> lock(mu_);
  ++open_[partition];
  ++version_;
}

void HeldPartitions::Dropped(int32_t partition) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = open_.find(partition);
  if (it != open_.end() && --it->second == 0) open_.erase(it);
  ++version_;
}

}  // namespace claims::adjudication
