#include "nobias/error.hpp"

#include <utility>

namespace nobias {
namespace {

std::string describe_facts(const DivergenceError::Facts& facts) {
  if (facts.where.empty()) return facts.detail;  // a message from elsewhere, as it came
  std::string text;
  if (facts.where == DivergenceError::kAfterTraining) {
    return "fit: after the last step (epoch " + std::to_string(facts.epoch) + ", step " +
           std::to_string(facts.step) + "): " + facts.detail;
  }
  if (facts.epoch != 0) {
    text = "fit: epoch " + std::to_string(facts.epoch);
    if (facts.step != 0) text += ", step " + std::to_string(facts.step);
    text += ": ";
  }
  if (facts.where != "fit" || facts.epoch == 0) text += facts.where + ": ";
  text += facts.detail;
  if (facts.weights_unchanged) text += "; weights left unchanged";
  return text;
}

}  // namespace

DivergenceError::DivergenceError(Facts facts)
    : Error(describe_facts(facts) + "; try a smaller learning rate"), facts_(std::move(facts)) {}

DivergenceError::DivergenceError(const std::string& message) : Error(message) {
  facts_.detail = message;
  facts_.weights_unchanged = false;
}

std::string DivergenceError::describe() const {
  return describe_facts(facts_);
}

DivergenceError DivergenceError::at(std::size_t epoch, std::size_t step) const {
  if (facts_.where.empty()) {
    // Only a message: keep it, prefixed with where it happened.
    Facts facts;
    facts.where = "fit";
    facts.detail = facts_.detail;
    facts.epoch = epoch;
    facts.step = step;
    facts.weights_unchanged = false;
    return DivergenceError(std::move(facts));
  }
  Facts facts = facts_;
  facts.epoch = epoch;
  facts.step = step;
  return DivergenceError(std::move(facts));
}

namespace {

// The data's now is which input differs ("x differs: same shape, other values"), not a value.
std::string mismatch_message(const std::string& setting, const std::string& now,
                             const std::string& then) {
  if (setting == "data") {
    return "resume: the checkpoint was trained on other data (" + now +
           "); resume with the data of the first run";
  }
  if (setting == "validation") {
    return "resume: the checkpoint was validated on other data (" + now +
           "); resume with the validation data of the first run";
  }
  return "resume: " + setting + " is " + now + " but the checkpoint was trained with " + then +
         "; resume with the settings of the first run";
}

}  // namespace

ResumeMismatch::ResumeMismatch(std::string setting, std::string now, std::string then)
    : ValueError(mismatch_message(setting, now, then)),
      setting_(std::move(setting)),
      now_(std::move(now)),
      then_(std::move(then)) {}

}  // namespace nobias
