// The default per-trial loggers: result.json (+ params.json) and progress.csv.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/file_writer.h"
#include "common/json_writer.h"
#include "common/strings.h"
#include "tune/callback.h"
#include "tune/error.h"
#include "tune/tensorboard.h"

namespace tune {
namespace {

// result.json: one JSON object a line; params.json: the resolved config.
// Every result carries the trial's config (auto-filled): its text is made once per config
// and spliced into each line while the result's config is that one.
class JsonLogger final : public Logger {
 public:
  JsonLogger(const ExperimentInfo& experiment, const TrialView& trial) {
    (void)experiment;
    write_params(trial);
    out_ = FileWriter(trial.logdir() / "result.json");
  }
  void on_config_change(const TrialView& trial) override { write_params(trial); }
  void on_result(const Result& result) override {
    line_.clear();
    if (!result.is_object() || result.empty()) {
      detail::append_json(line_, result);
    } else {
      // Results of a trial nearly always have the keys of the one before, and many values
      // (host, ids, config) stay the same: their text is kept per position and reused.
      size_t i = 0;
      for (const auto& [key, value] : result.get_ref<const Json::object_t&>()) {
        if (i >= fields_.size() || fields_[i].key != key) {
          fields_.resize(i);
          Field& field = fields_.emplace_back();
          field.key = key;
          detail::append_json_string(field.key_text, key);
          field.key_text += ':';
        }
        Field& field = fields_[i];
        line_ += i == 0 ? '{' : ',';
        line_ += field.key_text;
        if (value.is_string()) {
          const auto& text = value.get_ref<const std::string&>();
          if (!field.has_string || field.string != text) {
            field.string = text;
            field.has_string = true;
            field.value_text.clear();
            detail::append_json_string(field.value_text, text);
          }
          line_ += field.value_text;
        } else if (value.is_object() && key == "config" && detail::same_json(value, config_)) {
          line_ += config_text_;
        } else {
          detail::append_json(line_, value);
        }
        ++i;
      }
      line_ += '}';
    }
    line_ += '\n';
    out_.write(line_);
  }
  void flush() override { out_.flush(); }
  void close(const TrialView& trial) override {
    (void)trial;
    out_.close();
  }

 private:
  // Written at trial start and when its config changes; a plain write (no fsync) keeps
  // trial start cheap.
  void write_params(const TrialView& trial) {
    FileWriter params(trial.logdir() / "params.json", /*truncate=*/true);
    params.write(trial.config().dump(2) + "\n");
    params.close();
    config_ = trial.config();
    config_text_.clear();
    detail::append_json(config_text_, config_);
  }

  // One key of the previous result, with its text and that of its last string value.
  struct Field {
    std::string key;
    std::string key_text;  // "key":
    bool has_string = false;
    std::string string;      // the last string value seen here ...
    std::string value_text;  // ... and its JSON text
  };

  FileWriter out_;
  std::string line_;
  std::vector<Field> fields_;
  Config config_;            // the trial's config, as results carry it
  std::string config_text_;  // its serialisation
};

void append_csv_value(std::string& out, const Json& value) {
  switch (value.type()) {
    case Json::value_t::null:
      break;
    case Json::value_t::number_float: {
      const double d = value.get<double>();
      if (std::isnan(d)) out += "nan";
      else if (std::isinf(d)) out += d > 0 ? "inf" : "-inf";
      else detail::append_json_double(out, d);
      break;
    }
    case Json::value_t::string: {
      const auto& s = value.get_ref<const std::string&>();
      const bool plain = std::none_of(s.begin(), s.end(), [](char c) {
        return c == ',' || c == '"' || c == '\n' || c == '\r';
      });
      if (plain) {
        out += s;
      } else {
        out += '"';
        for (char c : s) {
          if (c == '"') out += '"';
          out += c;
        }
        out += '"';
      }
      break;
    }
    case Json::value_t::object:
    case Json::value_t::array: {
      std::string text;
      detail::append_json(text, value);
      append_csv_value(out, Json(std::move(text)));
      break;
    }
    default:
      detail::append_json(out, value);
  }
}

// progress.csv: flattened results without the config. The header grows when a result
// brings a new key, so a metric first reported at step 5 still gets its column: the rows
// after a widening wait in memory, and the file is rewritten with the wider header, its old
// rows padded, when they are flushed, or once they are as large as the file. So a trial
// whose keys change at every result costs a rewrite per flush or per doubling of the file,
// linear in what it logs, never one rewrite per result.
class CsvLogger final : public Logger {
 public:
  // The file is created with the first result, which also fixes the first header.
  // A restarted trial continues its file: the existing header fixes the first columns.
  CsvLogger(const ExperimentInfo& experiment, const TrialView& trial) : path_(trial.logdir() / "progress.csv") {
    (void)experiment;
    std::error_code ec;
    if (std::filesystem::file_size(path_, ec) > 0 && !ec) {
      const std::string text = read_file(path_);
      const size_t newline = text.find('\n');
      if (newline != std::string::npos) {
        for (std::string& name : split_csv_row(std::string_view(text).substr(0, newline))) {
          index_.emplace(name, columns_.size());
          columns_.push_back(std::move(name));
        }
        written_header_ = true;
        old_width_ = columns_.size();
        file_bytes_ = text.size();
        out_ = FileWriter(path_);
      }
    }
  }

  void on_result(const Result& result) override {
    // Walk the result in key order (flattening nested objects, skipping the config) and
    // map each key to its column. Results of one trial nearly always have the same keys,
    // so the previous result's key list answers the lookup with one comparison per key.
    size_t position = 0;
    bool same_keys = true;
    cells_.assign(columns_.size(), nullptr);
    key_buffer_.clear();
    walk(result, key_buffer_, [&](const std::string& key, const Json& value) {
      size_t column;
      if (same_keys && position < last_keys_.size() && last_keys_[position] == key) {
        column = last_columns_[position];
      } else {
        if (same_keys) {
          same_keys = false;
          last_keys_.resize(position);
          last_columns_.resize(position);
        }
        auto [it, added] = index_.emplace(key, columns_.size());
        if (added) {
          columns_.push_back(key);
          cells_.push_back(nullptr);
        }
        column = it->second;
        last_keys_.push_back(key);
        last_columns_.push_back(column);
      }
      cells_[column] = &value;
      ++position;
    });
    if (same_keys && position < last_keys_.size()) {
      last_keys_.resize(position);
      last_columns_.resize(position);
    }
    line_.clear();
    for (size_t i = 0; i < cells_.size(); ++i) {
      if (i) line_ += ',';
      if (cells_[i]) append_csv_value(line_, *cells_[i]);
    }
    line_ += '\n';
    if (columns_.size() == old_width_ && held_.empty()) {
      out_.write(line_);
      file_bytes_ += line_.size();
      return;
    }
    held_.push_back({held_text_.size(), columns_.size()});
    held_text_ += line_;
    if (held_text_.size() >= std::max(file_bytes_, kMinHeldBytes)) rewrite_with_new_header();
  }
  void flush() override {
    if (!held_.empty()) rewrite_with_new_header();
    out_.flush();
  }
  void close(const TrialView& trial) override {
    (void)trial;
    if (!held_.empty()) rewrite_with_new_header();
    out_.close();
  }

 private:
  // Calls f(flattened key, value) for every leaf of the result except the config.
  template <typename F>
  static void walk(const Json& object, std::string& prefix, F&& f) {
    for (const auto& [key, value] : object.get_ref<const Json::object_t&>()) {
      const bool nested = value.is_object() && !value.empty();
      if (prefix.empty()) {
        if (key == "config") continue;
        if (!nested) {  // a top-level leaf: its key is the column name as it is
          f(key, value);
          continue;
        }
      }
      const size_t mark = prefix.size();
      if (!prefix.empty()) prefix += '/';
      prefix += key;
      if (nested) {
        walk(value, prefix, f);
      } else {
        f(prefix, value);
      }
      prefix.resize(mark);
    }
  }

  std::string header() const {
    std::string line;
    for (size_t i = 0; i < columns_.size(); ++i) {
      if (i) line += ',';
      append_csv_value(line, Json(columns_[i]));
    }
    return line + '\n';
  }

  // Writes the held rows: appended as they are when no column was added since the file's
  // header, else the whole file again with the wider header and every row padded to it.
  void rewrite_with_new_header() {
    const size_t width = columns_.size();
    std::string body;
    if (written_header_ && width != old_width_) {
      out_.flush();
      // Old rows lack the new columns: pad them with empty cells.
      const std::string old = read_file(path_);
      const size_t first_newline = old.find('\n');
      const std::string_view rows =
          first_newline == std::string::npos ? std::string_view() : std::string_view(old).substr(first_newline + 1);
      body.reserve(rows.size() + held_text_.size() + (held_.size() + 1) * (width - old_width_));
      append_padded(body, rows, width - old_width_);
    }
    for (size_t i = 0; i < held_.size(); ++i) {
      const size_t end = i + 1 < held_.size() ? held_[i + 1].offset : held_text_.size();
      append_padded(body, std::string_view(held_text_).substr(held_[i].offset, end - held_[i].offset),
                    width - held_[i].width);
    }
    if (!written_header_ || width != old_width_) {
      out_.close();
      out_ = FileWriter(path_, /*truncate=*/true);
      const std::string head = header();
      out_.write(head);
      file_bytes_ = head.size();
    }
    out_.write(body);
    file_bytes_ += body.size();
    written_header_ = true;
    old_width_ = width;
    held_.clear();
    held_text_.clear();
  }

  // Rows as they are, each given `pad` more empty cells.
  static void append_padded(std::string& out, std::string_view rows, size_t pad) {
    if (pad == 0) {
      out += rows;
      return;
    }
    bool quoted = false;  // a quoted cell may hold a newline
    for (char c : rows) {
      if (c == '"') quoted = !quoted;
      if (c == '\n' && !quoted) out.append(pad, ',');
      out += c;
    }
  }

  // Rows held since the last write, and how many columns each had.
  struct HeldRow {
    size_t offset;  // into held_text_
    size_t width;
  };
  static constexpr size_t kMinHeldBytes = size_t{1} << 16;

  std::filesystem::path path_;
  FileWriter out_;
  std::vector<std::string> columns_;
  std::unordered_map<std::string, size_t> index_;
  std::string line_;
  bool written_header_ = false;
  size_t old_width_ = 0;       // the header's columns in the file
  uint64_t file_bytes_ = 0;    // written to the file so far (header included)
  std::vector<HeldRow> held_;  // rows not yet in the file: a column was added since its header
  std::string held_text_;
  std::vector<const Json*> cells_;
  std::vector<std::string> last_keys_;
  std::vector<size_t> last_columns_;
  std::string key_buffer_;
};

}  // namespace

LoggerFactory json_logger() {
  return [](const ExperimentInfo& experiment, const TrialView& trial) -> std::unique_ptr<Logger> {
    return std::make_unique<JsonLogger>(experiment, trial);
  };
}

LoggerFactory csv_logger() {
  return [](const ExperimentInfo& experiment, const TrialView& trial) -> std::unique_ptr<Logger> {
    return std::make_unique<CsvLogger>(experiment, trial);
  };
}

std::vector<LoggerFactory> default_loggers() { return {json_logger(), csv_logger(), tensorboard_logger()}; }

}  // namespace tune
