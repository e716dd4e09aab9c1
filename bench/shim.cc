// shim.cc - the thin C++ layer between Google Benchmark 1.7.1 and the C
// benchmark bodies: registration of C functions, the per-thread state calls,
// and a console reporter that also records every run for the C side
// (bench/xb.h).  No benchmark logic lives here.
#include "bench/xb.h"

#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <ostream>
#include <streambuf>
#include <string>
#include <vector>

struct xb_reg {
	xb_fn fn;
	xb_opts opts;
};

struct xb_state {
	benchmark::State *s;
	const xb_reg *reg;
};

namespace {

std::vector<std::unique_ptr<xb_reg>> g_regs;
std::vector<xb_result> g_results;
std::map<std::string, size_t> g_result_index; // GB run name -> g_results slot
double g_default_min_time = 0.0;

void copy_str(char *dst, size_t cap, const std::string &src)
{
	std::snprintf(dst, cap, "%s", src.c_str());
}

class NullBuf : public std::streambuf {
protected:
	int overflow(int c) override { return c == EOF ? 0 : c; }
};

// Prints like the console reporter, but prints the machine description only
// once (xb_run is called once per workload) and records each run.
class Collector : public benchmark::ConsoleReporter {
public:
	bool ReportContext(const Context &ctx) override
	{
		if (!first_) {
			std::ostream *err = &GetErrorStream();
			SetErrorStream(&null_os_);
			bool ok = ConsoleReporter::ReportContext(ctx);
			SetErrorStream(err);
			return ok;
		}
		first_ = false;
		return ConsoleReporter::ReportContext(ctx);
	}

	void ReportRuns(const std::vector<Run> &runs) override
	{
		for (const Run &r : runs)
			record(r);
		ConsoleReporter::ReportRuns(runs);
		std::fflush(stdout);
	}

private:
	void record(const Run &r)
	{
		if (r.run_type == Run::RT_Aggregate && r.aggregate_name != "mean")
			return;
		std::string key = r.run_name.str();
		auto it = g_result_index.find(key);
		if (it != g_result_index.end() && r.run_type == Run::RT_Iteration)
			return; // a later repetition; the mean replaces the first one
		xb_result x;
		std::memset(&x, 0, sizeof x);
		copy_str(x.name, sizeof x.name, r.run_name.function_name);
		copy_str(x.full_name, sizeof x.full_name, key);
		x.threads = static_cast<int>(r.threads);
		x.iterations = static_cast<int64_t>(r.iterations);
		double mult = 1.0; // to nanoseconds
		switch (r.time_unit) {
		case benchmark::kSecond: mult = 1e9; break;
		case benchmark::kMillisecond: mult = 1e6; break;
		case benchmark::kMicrosecond: mult = 1e3; break;
		default: mult = 1.0; break;
		}
		x.real_ns = r.GetAdjustedRealTime() * mult;
		x.cpu_ns = r.GetAdjustedCPUTime() * mult;
		x.error = r.error_occurred ? 1 : 0;
		copy_str(x.error_msg, sizeof x.error_msg, r.error_message);
		for (const auto &c : r.counters) {
			if (c.first == "items_per_second") {
				x.items_per_sec = c.second.value;
				continue;
			}
			if (x.n_counters < 8) {
				copy_str(x.counter_name[x.n_counters], 32, c.first);
				x.counter_value[x.n_counters] = c.second.value;
				x.n_counters++;
			}
		}
		if (it != g_result_index.end()) {
			g_results[it->second] = x;
		} else {
			g_result_index[key] = g_results.size();
			g_results.push_back(x);
		}
	}

	bool first_ = true;
	NullBuf null_buf_;
	std::ostream null_os_{&null_buf_};
};

Collector *collector()
{
	static Collector c;
	return &c;
}

} // namespace

extern "C" {

int xb_init(int *argc, char **argv)
{
	benchmark::Initialize(argc, argv);
	return 0;
}

void xb_set_default_min_time(double seconds) { g_default_min_time = seconds; }

int xb_register(const char *name, xb_fn fn, const struct xb_opts *opts)
{
	if (name == nullptr || fn == nullptr)
		return -1;
	std::unique_ptr<xb_reg> reg(new xb_reg);
	reg->fn = fn;
	if (opts != nullptr)
		reg->opts = *opts;
	else
		std::memset(&reg->opts, 0, sizeof reg->opts);
	const xb_reg *rp = reg.get();
	benchmark::internal::Benchmark *b = benchmark::RegisterBenchmark(
		name, [rp](benchmark::State &s) {
			xb_state st{&s, rp};
			rp->fn(&st);
		});
	b->UseRealTime();
	b->Threads(rp->opts.threads > 0 ? rp->opts.threads : 1);
	double mt = rp->opts.min_time > 0 ? rp->opts.min_time : g_default_min_time;
	if (mt > 0)
		b->MinTime(mt);
	if (rp->opts.has_arg)
		b->Arg(rp->opts.arg);
	g_regs.push_back(std::move(reg));
	return 0;
}

int xb_keep_running(struct xb_state *st) { return st->s->KeepRunning() ? 1 : 0; }
int xb_thread_index(const struct xb_state *st) { return st->s->thread_index(); }
int xb_threads(const struct xb_state *st) { return st->s->threads(); }
void *xb_ctx(const struct xb_state *st) { return st->reg->opts.ctx; }
int64_t xb_arg(const struct xb_state *st) { return st->reg->opts.arg; }
int64_t xb_iterations(const struct xb_state *st) { return st->s->iterations(); }
void xb_set_items(struct xb_state *st, int64_t items) { st->s->SetItemsProcessed(items); }
void xb_counter(struct xb_state *st, const char *name, double value)
{
	st->s->counters[name] = benchmark::Counter(value);
}
void xb_skip(struct xb_state *st, const char *why) { st->s->SkipWithError(why); }
int xb_failed(const struct xb_state *st) { return st->s->error_occurred() ? 1 : 0; }
void xb_pause(struct xb_state *st) { st->s->PauseTiming(); }
void xb_resume(struct xb_state *st) { st->s->ResumeTiming(); }

size_t xb_run(const char *pattern)
{
	std::string spec = (pattern != nullptr && *pattern) ? pattern : ".";
	return benchmark::RunSpecifiedBenchmarks(collector(), spec);
}

size_t xb_result_count(void) { return g_results.size(); }

const struct xb_result *xb_result_get(size_t i)
{
	return i < g_results.size() ? &g_results[i] : nullptr;
}

double xb_result_counter(const struct xb_result *r, const char *name)
{
	for (int i = 0; r != nullptr && i < r->n_counters; i++)
		if (std::strcmp(r->counter_name[i], name) == 0)
			return r->counter_value[i];
	return NAN;
}

} // extern "C"
