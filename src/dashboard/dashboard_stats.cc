// The dashboard's server-side aggregation: parameter importance and curve downsampling.
//
// Importance is the correlation ratio (eta squared, Pearson 1905) of the score per parameter:
// group the trials by the parameter's value (numeric parameters with many values into 10
// equal-count bins by rank), and take the share of the score's variance that the group means
// explain, SS_between / SS_total. It is 1 when the parameter alone determines the score and near
// 0 when it says nothing. Unlike fANOVA it looks at one parameter at a time (no interactions),
// but it costs one sort per parameter, so it stays cheap at 100,000 trials; docs/dashboard.md.
#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "dashboard/dashboard_api.h"

namespace tune::dashboard {
namespace {

constexpr size_t kBins = 10;

}  // namespace

std::vector<int64_t> parameter_groups(const std::vector<double>& values, bool numeric) {
  std::vector<int64_t> groups(values.size());
  if (!numeric) {  // the values are category indexes already
    for (size_t i = 0; i < values.size(); ++i) groups[i] = static_cast<int64_t>(values[i]);
    return groups;
  }
  std::map<double, int64_t> distinct;
  for (size_t i = 0; i < values.size() && distinct.size() <= kBins; ++i)
    distinct.emplace(values[i], static_cast<int64_t>(distinct.size()));
  if (distinct.size() <= kBins) {
    for (size_t i = 0; i < values.size(); ++i) groups[i] = distinct.at(values[i]);
    return groups;
  }
  std::vector<size_t> order(values.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return values[a] < values[b]; });
  for (size_t rank = 0; rank < order.size(); ++rank) {
    // Equal values share a bin, so ties never split across a boundary.
    if (rank > 0 && values[order[rank]] == values[order[rank - 1]])
      groups[order[rank]] = groups[order[rank - 1]];
    else
      groups[order[rank]] = static_cast<int64_t>(rank * kBins / order.size());
  }
  return groups;
}

double correlation_ratio(const std::vector<double>& scores, const std::vector<int64_t>& groups) {
  if (scores.size() < 2 || scores.size() != groups.size()) return 0.0;
  const double mean = std::accumulate(scores.begin(), scores.end(), 0.0) / static_cast<double>(scores.size());
  std::map<int64_t, std::pair<double, int64_t>> sums;  // group -> (sum, count)
  double total = 0;
  for (size_t i = 0; i < scores.size(); ++i) {
    auto& [sum, count] = sums[groups[i]];
    sum += scores[i];
    ++count;
    total += (scores[i] - mean) * (scores[i] - mean);
  }
  if (sums.size() < 2 || !(total > 0)) return 0.0;
  double between = 0;
  for (const auto& [group, sum_count] : sums) {
    const double group_mean = sum_count.first / static_cast<double>(sum_count.second);
    between += static_cast<double>(sum_count.second) * (group_mean - mean) * (group_mean - mean);
  }
  return std::clamp(between / total, 0.0, 1.0);
}

std::vector<std::pair<double, double>> downsample(const std::vector<std::pair<double, double>>& curve,
                                                  int64_t points) {
  const size_t budget = static_cast<size_t>(std::max<int64_t>(points, 2));
  if (curve.size() <= budget) return curve;
  std::vector<std::pair<double, double>> out;
  out.push_back(curve.front());
  const size_t buckets = std::max<size_t>(1, (budget - 2) / 2);
  const size_t inner = curve.size() - 2;
  for (size_t b = 0; b < buckets; ++b) {
    const size_t begin = 1 + b * inner / buckets;
    const size_t end = 1 + (b + 1) * inner / buckets;
    if (begin >= end) continue;
    size_t low = begin;
    size_t high = begin;
    for (size_t i = begin; i < end; ++i) {
      if (curve[i].second < curve[low].second) low = i;
      if (curve[i].second > curve[high].second) high = i;
    }
    out.push_back(curve[std::min(low, high)]);
    if (low != high) out.push_back(curve[std::max(low, high)]);
  }
  out.push_back(curve.back());
  return out;
}

}  // namespace tune::dashboard
