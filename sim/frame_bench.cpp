// Full-frame harness of a generated top (`sim.frame_bench`: the encoder, licfpga_encoder,
// or the decoder, licfpga_decoder): Verilator's model of it, built with --prefix Vtop,
// driven from memory, no cocotb, no Python per cycle.
//
//   frame_bench STIMULUS OUTPUT
//
// STIMULUS (little-endian): u32 width, height (the top's frame ports), frames, beats
// (input beats per frame), elements (output beats per frame), u64 patience (cycles
// without a beat moving on either side before giving up); then frames*beats u32 input
// payloads, already packed (the elements of a beat, then first, last, eol, eop: 3 ×
// uint8 pixel for the encoder, an int16 element of ŷ for the decoder). The source is
// valid whenever a beat is left (full rate) and the sink is always ready, so the run
// measures the pipeline's own throughput.
//
// OUTPUT: frames*elements u32 output payloads (the encoder's int16 element or the
// decoder's 3 × uint8 pixel, then first, last, eol, eop), as received. stdout: one JSON
// line with the cycle of the first input beat of each frame and of the last output beat
// of each frame (cycles counted from the end of reset). stderr: "progress CYCLE IN OUT"
// every 2^18 cycles. Exit 2 on a stall, 1 on bad arguments.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

#include "Vtop.h"
#include "verilated.h"

// Verilator escapes the "__" of Amaranth's port names (i__valid) as "___05F".
#define I_VALID i___05Fvalid
#define I_READY i___05Fready
#define I_PAYLOAD i___05Fpayload
#define O_VALID o___05Fvalid
#define O_READY o___05Fready
#define O_PAYLOAD o___05Fpayload

static bool read_all(FILE *f, void *p, size_t bytes) { return fread(p, 1, bytes, f) == bytes; }

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s STIMULUS OUTPUT\n", argv[0]);
        return 1;
    }
    FILE *in = fopen(argv[1], "rb");
    if (!in) { perror(argv[1]); return 1; }
    uint32_t head[5];
    uint64_t patience;
    if (!read_all(in, head, sizeof head) || !read_all(in, &patience, sizeof patience)) {
        fprintf(stderr, "%s: truncated header\n", argv[1]);
        return 1;
    }
    const uint32_t width = head[0], height = head[1], frames = head[2], beats = head[3], elements = head[4];
    const uint64_t total_in = uint64_t(frames) * beats, total_out = uint64_t(frames) * elements;
    std::vector<uint32_t> stimulus(total_in), received(total_out);
    if (!read_all(in, stimulus.data(), total_in * 4)) {
        fprintf(stderr, "%s: truncated stimulus\n", argv[1]);
        return 1;
    }
    fclose(in);

    auto context = std::make_unique<VerilatedContext>();
    auto top = std::make_unique<Vtop>(context.get());
    top->width = width;
    top->height = height;
    top->I_VALID = 0;
    top->O_READY = 0;
    top->rst = 1;
    for (int i = 0; i < 4; ++i) {
        top->clk = 0; top->eval();
        top->clk = 1; top->eval();
    }
    top->rst = 0;

    std::vector<uint64_t> first_in(frames), last_out(frames);
    uint64_t cycle = 0, sent = 0, got = 0, moved = 0;
    while (got < total_out) {
        // Inputs settle while the clock is low; the handshake seen now is what the
        // rising edge samples.
        top->clk = 0;
        top->I_VALID = sent < total_in;
        if (sent < total_in) top->I_PAYLOAD = stimulus[sent];
        top->O_READY = 1;
        top->eval();
        if (top->I_VALID && top->I_READY) {
            if (sent % beats == 0) first_in[sent / beats] = cycle;
            ++sent;
            moved = cycle;
        }
        if (top->O_VALID) {
            received[got] = top->O_PAYLOAD;
            ++got;
            if (got % elements == 0) last_out[got / elements - 1] = cycle;
            moved = cycle;
        }
        top->clk = 1;
        top->eval();
        ++cycle;
        if ((cycle & ((1u << 18) - 1)) == 0) {
            fprintf(stderr, "progress %llu %llu %llu\n", (unsigned long long)cycle, (unsigned long long)sent,
                    (unsigned long long)got);
            fflush(stderr);
        }
        if (cycle - moved > patience) {
            fprintf(stderr, "stalled: nothing moved for %llu cycles after %llu of %llu input beats and "
                    "%llu of %llu output elements\n", (unsigned long long)patience, (unsigned long long)sent,
                    (unsigned long long)total_in, (unsigned long long)got, (unsigned long long)total_out);
            return 2;
        }
    }
    top->final();

    FILE *out = fopen(argv[2], "wb");
    if (!out || fwrite(received.data(), 4, total_out, out) != total_out || fclose(out) != 0) {
        perror(argv[2]);
        return 1;
    }
    printf("{\"cycles\": %llu, \"first_in\": [", (unsigned long long)cycle);
    for (uint32_t f = 0; f < frames; ++f) printf("%s%llu", f ? ", " : "", (unsigned long long)first_in[f]);
    printf("], \"last_out\": [");
    for (uint32_t f = 0; f < frames; ++f) printf("%s%llu", f ? ", " : "", (unsigned long long)last_out[f]);
    printf("]}\n");
    return 0;
}
