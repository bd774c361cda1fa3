"""The SystemVerilog of one build, generated from an ``RtlConfig`` (Python string templates).

Files: ``accelsim_pe.sv`` (the processing element of the format family, ``os`` or ``ws``),
``accelsim_array.sv`` (R x C PEs), ``accelsim_core.sv`` (buffers, operand feeders, the tile
controller, the requantization unit, cycle counters). Every width and count comes from the config;
the per-layer values (shapes, zero points, clamp bounds, table bases) are run-time registers loaded
from ``cfg.hex`` with the buffers, so one build runs every layer of a model.

Mutants (``MUTANTS``) are named text substitutions on the generated source: each anchor must occur
exactly once, so a mutant cannot silently stop applying when the template changes.
"""
from __future__ import annotations

from accelsim.errors import ConfigError
from accelsim.rtl.config import RtlConfig

# cfg.hex word indices (the tile controller's run-time registers); program.py writes them.
CFG_FIELDS = ("n_gemm", "cin", "cout", "hw_in", "hw_out", "khkw", "x_zp", "y_zp", "qmin", "qmax", "act",
              "x_bits", "x_signed", "bias_bits", "lut_qmin", "cin_words", "w_order", "lut_bits", "w_packing",
              "has_bias")
ACT_CODES = {"none": 0, "relu": 1, "lut": 2, "sign": 3, "acc": 4}
PACKING_CODES = {"none": 0, "sign64": 1, "ternary2": 2}
GEMM_WORDS = 8   # per GEMM: P, T, K, pixout base, pixin base, ktab base, tap base, unused
INVALID = 0xFFFFFFFF

# name -> (what is wrong, [(anchor, replacement), ...])
MUTANTS = {
    "requant_rounding": ("the rounding divide by 2^shift truncates (no round-to-nearest increment)",
                         [("rq_r = (rq_h >>> rq_right) + ((rq_rem > rq_thr) ? 128'sd1 : 128'sd0);",
                           "rq_r = (rq_h >>> rq_right);")]),
    "saturation_bound": ("the upper clamp bound is qmax/2 (one bit short)",
                         [("if (rq_y > qmax128) rq_y = qmax128;",
                           "if (rq_y > (qmax128 >>> 1)) rq_y = (qmax128 >>> 1);")]),
    "zero_point_sign": ("the output zero point is subtracted instead of added",
                        [("rq_y = rq_r + y_zp128;", "rq_y = rq_r - y_zp128;")]),
    "packed_sign_order": ("packed weight bits read MSB-first (bit 63 - c%64, ternary code 31 - c%32)",
                          [("w_sel = ci_w[5:0];", "w_sel = 6'd63 - ci_w[5:0];"),
                           ("w_sel2 = {ci_w[4:0], 1'b0};", "w_sel2 = {5'd31 - ci_w[4:0], 1'b0};")]),
    "acc_width": ("the accumulator of PE (0, 0) is 12 bits narrower than the exact width",
                  [("localparam int ACCW_00 = ACCW;", "localparam int ACCW_00 = ACCW - 12;")]),
}


def _prod(cfg: RtlConfig) -> tuple[str, int]:
    """The PE's product expression on x_in / w (the held or passing weight) and its width."""
    xo = cfg.xop_bits
    if cfg.family == "int":
        return f"x_in * $signed({{w_c}})", xo + cfg.w_bits
    if cfg.family == "ternary":     # 01 = +1, 11 = -1, 00 = skip (10 never occurs)
        return (f"({{w_c}} == 2'b01) ? {xo + 1}'(x_in) : ({{w_c}} == 2'b11) ? -({xo + 1}'(x_in)) : '0", xo + 1)
    if cfg.family == "xnor":        # sign bits, 1 = +1, 0 = -1: the product is +1 when they agree (XNOR)
        return "(x_in[0] == {w_c}[0]) ? 2'sd1 : -2'sd1", 2
    # signadd (w1aM): a weight bit 1 = +1, 0 = -1
    return f"{{w_c}}[0] ? {xo + 1}'(x_in) : -({xo + 1}'(x_in))", xo + 1   # -(N'(x)): Yosys reads -N'(x) as a size


def pe_sv(cfg: RtlConfig) -> str:
    expr, pw = _prod(cfg)
    head = (f"// accelsim reference PE: family {cfg.family} ({cfg.fmt}), dataflow {cfg.dataflow}\n"
            f"// x operand {cfg.xop_bits} bits signed (x - z_x), weight code {cfg.w_bits} bits, product {pw} bits\n")
    if cfg.dataflow == "os":
        return head + f"""module accelsim_pe #(
  parameter int XOPW = {cfg.xop_bits},
  parameter int WW = {cfg.w_bits},
  parameter int ACCW = {cfg.acc_bits}
) (
  input  logic clk,
  input  logic rst,
  input  logic clr,
  input  logic signed [XOPW-1:0] x_in,
  input  logic xv_in,
  input  logic [WW-1:0] w_in,
  input  logic wv_in,
  output logic signed [XOPW-1:0] x_out,
  output logic xv_out,
  output logic [WW-1:0] w_out,
  output logic wv_out,
  output logic signed [ACCW-1:0] acc
);
  logic signed [{pw - 1}:0] prod;
  assign prod = {expr.format(w_c="w_in")};
  always_ff @(posedge clk) begin
    if (rst) begin
      xv_out <= 1'b0; wv_out <= 1'b0; acc <= '0; x_out <= '0; w_out <= '0;
    end else begin
      x_out <= x_in; xv_out <= xv_in; w_out <= w_in; wv_out <= wv_in;
      if (clr) acc <= '0;
      else if (xv_in && wv_in) acc <= acc + ACCW'(prod);
    end
  end
endmodule
"""
    return head + f"""module accelsim_pe #(
  parameter int XOPW = {cfg.xop_bits},
  parameter int WW = {cfg.w_bits},
  parameter int ACCW = {cfg.acc_bits}
) (
  input  logic clk,
  input  logic rst,
  input  logic wload,
  input  logic signed [XOPW-1:0] x_in,
  input  logic xv_in,
  input  logic [WW-1:0] w_in,
  input  logic wv_in,
  input  logic signed [ACCW-1:0] ps_in,
  output logic signed [XOPW-1:0] x_out,
  output logic xv_out,
  output logic [WW-1:0] w_out,
  output logic wv_out,
  output logic signed [ACCW-1:0] ps_out
);
  logic [WW-1:0] w_reg;
  logic wv_reg;
  logic signed [{pw - 1}:0] prod;
  assign prod = {expr.format(w_c="w_reg")};
  assign w_out = w_reg;
  assign wv_out = wv_reg;
  always_ff @(posedge clk) begin
    if (rst) begin
      w_reg <= '0; wv_reg <= 1'b0; x_out <= '0; xv_out <= 1'b0; ps_out <= '0;
    end else begin
      if (wload) begin w_reg <= w_in; wv_reg <= wv_in; end
      x_out <= x_in; xv_out <= xv_in;
      ps_out <= ps_in + ((xv_in && wv_reg) ? ACCW'(prod) : ACCW'(0));
    end
  end
endmodule
"""


def array_sv(cfg: RtlConfig) -> str:
    """R x C PEs on flat (packed) buses, so that Yosys reads the array as well as Verilator."""
    os_ = cfg.dataflow == "os"
    ports = ("  input  logic clr,\n  output logic [R*C*ACCW-1:0] acc\n" if os_ else
             "  input  logic wload,\n  output logic [C*ACCW-1:0] ps_bottom\n")
    if os_:
        tail = """      if (r == 0 && c == 0) begin : g_pe00
        logic signed [ACCW_00-1:0] acc00;
        accelsim_pe #(.XOPW(XOPW), .WW(WW), .ACCW(ACCW_00)) u_pe (
          .clk(clk), .rst(rst), .x_in(xi), .xv_in(xvi), .w_in(wi), .wv_in(wvi),
          .x_out(xh[(r*C+c)*XOPW +: XOPW]), .xv_out(xvh[r*C+c]), .w_out(wh[(r*C+c)*WW +: WW]), .wv_out(wvh[r*C+c]),
          .clr(clr), .acc(acc00));
        assign acc[(r*C+c)*ACCW +: ACCW] = ACCW'(acc00);
      end else begin : g_pe
        accelsim_pe #(.XOPW(XOPW), .WW(WW), .ACCW(ACCW)) u_pe (
          .clk(clk), .rst(rst), .x_in(xi), .xv_in(xvi), .w_in(wi), .wv_in(wvi),
          .x_out(xh[(r*C+c)*XOPW +: XOPW]), .xv_out(xvh[r*C+c]), .w_out(wh[(r*C+c)*WW +: WW]), .wv_out(wvh[r*C+c]),
          .clr(clr), .acc(acc[(r*C+c)*ACCW +: ACCW]));
      end
"""
        extra = "  localparam int ACCW_00 = ACCW;\n"
    else:
        tail = """      logic [ACCW-1:0] psi;
      if (r == 0) begin : g_p0
        assign psi = '0;
      end else begin : g_pn
        assign psi = ps[((r-1)*C+c)*ACCW +: ACCW];
      end
      accelsim_pe #(.XOPW(XOPW), .WW(WW), .ACCW(ACCW)) u_pe (
        .clk(clk), .rst(rst), .x_in(xi), .xv_in(xvi), .w_in(wi), .wv_in(wvi),
        .x_out(xh[(r*C+c)*XOPW +: XOPW]), .xv_out(xvh[r*C+c]), .w_out(wh[(r*C+c)*WW +: WW]), .wv_out(wvh[r*C+c]),
        .wload(wload), .ps_in(psi), .ps_out(ps[(r*C+c)*ACCW +: ACCW]));
"""
        extra = "  logic [R*C*ACCW-1:0] ps;\n  assign ps_bottom = ps[(R-1)*C*ACCW +: C*ACCW];\n"
    return f"""// accelsim reference systolic array: {cfg.rows} x {cfg.cols}, dataflow {cfg.dataflow}, format {cfg.fmt}
// x enters at the left edge of each row and moves right one PE per cycle; weights enter at the top
// and move down ({'os: every PE accumulates its own output' if os_ else 'ws: weights are held, partial sums move down'}).
// Buses are flat: row r's x is x_left[r*XOPW +: XOPW], column c's weight w_top[c*WW +: WW],
// {'PE (r, c)' + "'s accumulator acc[(r*C+c)*ACCW +: ACCW]" if os_ else "column c's bottom partial sum ps_bottom[c*ACCW +: ACCW]"}.
{'// PE (0, 0) has its own accumulator width (ACCW_00, equal to ACCW) so a test can narrow one PE.' + chr(10) if os_ else ''}module accelsim_array #(
  parameter int R = {cfg.rows},
  parameter int C = {cfg.cols},
  parameter int XOPW = {cfg.xop_bits},
  parameter int WW = {cfg.w_bits},
  parameter int ACCW = {cfg.acc_bits}
) (
  input  logic clk,
  input  logic rst,
  input  logic [R*XOPW-1:0] x_left,
  input  logic [R-1:0] xv_left,
  input  logic [C*WW-1:0] w_top,
  input  logic [C-1:0] wv_top,
{ports});
{extra}  logic [R*C*XOPW-1:0] xh;
  logic [R*C-1:0] xvh;
  logic [R*C*WW-1:0] wh;
  logic [R*C-1:0] wvh;
  for (genvar r = 0; r < R; r++) begin : g_row
    for (genvar c = 0; c < C; c++) begin : g_col
      logic [XOPW-1:0] xi;
      logic xvi;
      logic [WW-1:0] wi;
      logic wvi;
      if (c == 0) begin : g_xl
        assign xi = x_left[r*XOPW +: XOPW];
        assign xvi = xv_left[r];
      end else begin : g_xr
        assign xi = xh[(r*C+c-1)*XOPW +: XOPW];
        assign xvi = xvh[r*C+c-1];
      end
      if (r == 0) begin : g_wt
        assign wi = w_top[c*WW +: WW];
        assign wvi = wv_top[c];
      end else begin : g_wd
        assign wi = wh[((r-1)*C+c)*WW +: WW];
        assign wvi = wvh[(r-1)*C+c];
      end
{tail}    end
  end
endmodule
"""


def core_sv(cfg: RtlConfig) -> str:
    d = cfg.depths
    os_ = cfg.dataflow == "os"
    wbw = cfg.w_bits if cfg.family == "int" else 64
    xbw = max(cfg.x_bits, 1)
    # operand x: the code minus its zero point (int families); an XNOR layer's sign bit as +-1
    fe_x = """
  // ---- activation feeders: row r reads operand k of pixel p (im2col through the descriptor tables)
  logic signed [XOPW-1:0] x_left [R];
  logic xv_left [R];
  logic [R*XOPW-1:0] x_flat;
  logic [R-1:0] xv_flat;
  for (genvar r = 0; r < R; r++) begin : g_xf
    assign x_flat[r*XOPW +: XOPW] = x_left[r];
    assign xv_flat[r] = xv_left[r];
    always_comb begin
      automatic int k, p, tt, ci, pin;
      automatic logic [31:0] kt;
      automatic logic signed [63:0] xc;
      automatic logic ok;
      k = XK_EXPR; p = XP_EXPR;
      ok = XSTATE && (k >= 0) && (k < g_K) && (p >= 0) && (p < g_P);
      kt = ok ? ktab[g_kbase + k] : 32'd0;
      ci = int'(kt[31:16]); tt = int'(kt[15:0]);
      pin = ok ? int'(pixin[g_pibase + p * g_T + tt]) : -1;
      ok = ok && (pin != -1);
      xc = ok ? 64'(xbuf[ci * hw_in + pin]) : 64'd0;
      if (x_signed != 0) xc = (xc <<< (64 - x_bits)) >>> (64 - x_bits);
      xv_left[r] = ok;
      XOPERAND
    end
  end
"""
    fe_x = fe_x.replace("XOPERAND", "x_left[r] = xc[0];   // the sign word itself (1 = +1, 0 = -1)"
                        if cfg.family == "xnor" else "x_left[r] = XOPW'(xc - 64'(x_zp));")
    fe_x = fe_x.replace("XK_EXPR", "int'(t) - r + k0" if not os_ else "int'(t) - r") \
               .replace("XP_EXPR", "p0 + r" if os_ else "int'(t) - r") \
               .replace("XSTATE", "(state == S_COMPUTE)" if os_ else "(state == S_STREAM)")
    if not os_:
        fe_x = fe_x.replace("k = int'(t) - r + k0", "k = k0 + r")
    fe_w = """
  // ---- weight feeders: column c reads the weight of operand k and output channel f
  logic [WW-1:0] w_top [C];
  logic wv_top [C];
  logic [C*WW-1:0] w_flat;
  logic [C-1:0] wv_flat;
  for (genvar c = 0; c < C; c++) begin : g_wf
    assign w_flat[c*WW +: WW] = w_top[c];
    assign wv_flat[c] = wv_top[c];
    always_comb begin
      automatic int k, f, tt, ci_w, tap, wa;
      automatic logic [31:0] kt;
      automatic logic [WBW-1:0] word;
      automatic logic [5:0] w_sel;
      automatic logic [5:0] w_sel2;
      automatic logic ok;
      k = WK_EXPR; f = f0 + c;
      ok = WOK_EXPR (k >= 0) && (k < g_K) && (f < cout);
      kt = ok ? ktab[g_kbase + k] : 32'd0;
      ci_w = int'(kt[31:16]); tt = int'(kt[15:0]);
      tap = ok ? int'(taps[g_tbase + tt]) : 0;
      if (w_packing == 0) wa = (w_order == 0) ? (ci_w * cout + f) * khkw + tap : (f * cin + ci_w) * khkw + tap;
      else if (w_packing == 1) wa = (f * khkw + tap) * cin_words + ci_w / 64;
      else wa = (f * khkw + tap) * cin_words + ci_w / 32;
      word = ok ? wbuf[wa] : '0;
      w_sel = ci_w[5:0];
      w_sel2 = {ci_w[4:0], 1'b0};
      wv_top[c] = ok;
      if (w_packing == 1) w_top[c] = WW'(word[w_sel]);
      else if (w_packing == 2) w_top[c] = WW'(word[w_sel2 +: 2]);
      else if (WW == 1) w_top[c] = WW'(~word[1]);   // unpacked binary code (+1 = 01, -1 = 11)
      else w_top[c] = word[WW-1:0];
    end
  end
"""
    fe_w = fe_w.replace("WK_EXPR", "int'(t) - c" if os_ else "k0 + R - 1 - int'(t)") \
               .replace("WOK_EXPR ", "(state == S_COMPUTE) && " if os_ else "(state == S_WLOAD) && ")
    if os_:
        ctrl = """
  // ---- tile controller (os): per GEMM, per column fold f0, per row fold p0: stream K operands
  // (K + R + C - 2 compute cycles, skewed edges), then drain the valid accumulators through the
  // requantization unit one per cycle (control cycles).
  logic clr;
  logic signed [ACCW-1:0] acc [R][C];
  logic [R*C*ACCW-1:0] acc_flat;
  accelsim_array u_array (.clk(clk), .rst(rst), .x_left(x_flat), .xv_left(xv_flat), .w_top(w_flat),
                          .wv_top(wv_flat), .clr(clr), .acc(acc_flat));
  for (genvar r = 0; r < R; r++) begin : g_acc_r
    for (genvar c = 0; c < C; c++) begin : g_acc_c
      assign acc[r][c] = acc_flat[(r*C+c)*ACCW +: ACCW];
    end
  end
  int rows_v, cols_v;
  assign rows_v = (g_P - p0 < R) ? g_P - p0 : R;
  assign cols_v = (cout - f0 < C) ? cout - f0 : C;
  assign clr = (state == S_DRAIN) && (dr == rows_v - 1) && (dc == cols_v - 1);
  assign drain_acc = acc[dr][dc];
  assign drain_p = p0 + dr;
  assign drain_f = f0 + dc;

  always_ff @(posedge clk) begin
    if (rst) begin
      state <= S_IDLE; t <= 0; g <= 0; p0 <= 0; f0 <= 0; dr <= 0; dc <= 0;
      compute_cycles <= 0; control_cycles <= 0;
    end else begin
      case (state)
        S_IDLE: if (start) begin
          state <= S_COMPUTE; t <= 0; g <= 0; p0 <= 0; f0 <= 0; compute_cycles <= 0; control_cycles <= 0;
        end
        S_COMPUTE: begin
          compute_cycles <= compute_cycles + 1;
          if (int'(t) == g_K + R + C - 3) begin state <= S_DRAIN; dr <= 0; dc <= 0; end
          else t <= t + 1;
        end
        S_DRAIN: begin
          control_cycles <= control_cycles + 1;
          if (dc < cols_v - 1) dc <= dc + 1;
          else if (dr < rows_v - 1) begin dc <= 0; dr <= dr + 1; end
          else begin
            t <= 0;
            if (p0 + R < g_P) begin p0 <= p0 + R; state <= S_COMPUTE; end
            else if (f0 + C < cout) begin p0 <= 0; f0 <= f0 + C; state <= S_COMPUTE; end
            else if (g + 1 < n_gemm) begin p0 <= 0; f0 <= 0; g <= g + 1; state <= S_COMPUTE; end
            else state <= S_FINISH;
          end
        end
        S_FINISH: begin control_cycles <= control_cycles + 1; state <= S_DONE; end
        default: ;
      endcase
    end
  end
"""
    else:
        ctrl = """
  // ---- tile controller (ws): per GEMM, per column fold f0, per row fold k0: load R weight rows
  // (R compute cycles), stream the P pixels (P + R + C - 2 compute cycles) while the bottom row's
  // partial sums are added into the psum buffer, one tail cycle for the last sum (control); after the
  // last row fold, drain P x cols_v sums through the requantization unit (control).
  logic signed [ACCW-1:0] ps_bottom [C];
  logic wload;
  assign wload = (state == S_WLOAD);
  logic [C*ACCW-1:0] ps_flat;
  accelsim_array u_array (.clk(clk), .rst(rst), .x_left(x_flat), .xv_left(xv_flat), .w_top(w_flat),
                          .wv_top(wv_flat), .wload(wload), .ps_bottom(ps_flat));
  for (genvar c = 0; c < C; c++) begin : g_ps_c
    assign ps_bottom[c] = ps_flat[c*ACCW +: ACCW];
  end
  logic signed [ACCW-1:0] psum [PSUMD];
  int cols_v;
  assign cols_v = (cout - f0 < C) ? cout - f0 : C;
  assign drain_acc = psum[dr * C + dc];
  assign drain_p = dr;
  assign drain_f = f0 + dc;

  always_ff @(posedge clk) begin
    if (!rst && (state == S_STREAM || state == S_TAIL)) begin
      for (int c = 0; c < C; c++) begin
        automatic int pc = int'(t) - R - c;
        if (pc >= 0 && pc < g_P && c < cols_v)
          psum[pc * C + c] <= (k0 == 0 ? ACCW'(0) : psum[pc * C + c]) + ps_bottom[c];
      end
    end
  end

  always_ff @(posedge clk) begin
    if (rst) begin
      state <= S_IDLE; t <= 0; g <= 0; k0 <= 0; f0 <= 0; dr <= 0; dc <= 0;
      compute_cycles <= 0; control_cycles <= 0;
    end else begin
      case (state)
        S_IDLE: if (start) begin
          state <= S_WLOAD; t <= 0; g <= 0; k0 <= 0; f0 <= 0; compute_cycles <= 0; control_cycles <= 0;
        end
        S_WLOAD: begin
          compute_cycles <= compute_cycles + 1;
          if (int'(t) == R - 1) begin state <= S_STREAM; t <= 0; end else t <= t + 1;
        end
        S_STREAM: begin
          compute_cycles <= compute_cycles + 1;
          t <= t + 1;
          if (int'(t) == g_P + R + C - 3) state <= S_TAIL;
        end
        S_TAIL: begin
          control_cycles <= control_cycles + 1;
          t <= 0;
          if (k0 + R < g_K) begin k0 <= k0 + R; state <= S_WLOAD; end
          else begin state <= S_DRAIN; dr <= 0; dc <= 0; end
        end
        S_DRAIN: begin
          control_cycles <= control_cycles + 1;
          if (dc < cols_v - 1) dc <= dc + 1;
          else if (dr < g_P - 1) begin dc <= 0; dr <= dr + 1; end
          else begin
            t <= 0; k0 <= 0;
            if (f0 + C < cout) begin f0 <= f0 + C; state <= S_WLOAD; end
            else if (g + 1 < n_gemm) begin f0 <= 0; g <= g + 1; state <= S_WLOAD; end
            else state <= S_FINISH;
          end
        end
        S_FINISH: begin control_cycles <= control_cycles + 1; state <= S_DONE; end
        default: ;
      endcase
    end
  end
"""
    src = f"""// accelsim reference core: {cfg.rows} x {cfg.cols} {cfg.dataflow} array, format {cfg.fmt} (PE family
// {cfg.family}), accumulator {cfg.acc_bits} bits. Generated by accelsim.rtl (docs/rtl.md).
// Buffers are behavioural memories with one read port per array row / column (what the
// simulator's SRAM model assumes); in simulation they load from $readmemh files named by plusargs.
module accelsim_core #(
  parameter int R = {cfg.rows},
  parameter int C = {cfg.cols},
  parameter int XOPW = {cfg.xop_bits},
  parameter int WW = {cfg.w_bits},
  parameter int ACCW = {cfg.acc_bits},
  parameter int XBW = {xbw},
  parameter int WBW = {wbw},
  parameter int XD = {d['x']},
  parameter int WD = {d['w']},
  parameter int CHD = {d['ch']},
  parameter int YD = {d['y']},
  parameter int PSUMD = {d['psum']},
  parameter int LUTD = {d['lut']},
  parameter int GD = {d['gemm']},
  parameter int PIXD = {d['pix']},
  parameter int PIXIND = {d['pixin']},
  parameter int KTD = {d['ktab']},
  parameter int TAPD = {d['taps']}
) (
  input  logic clk,
  input  logic rst,
  input  logic start,
  output logic done,
  output logic [63:0] compute_cycles,
  output logic [63:0] control_cycles
);
  // ---- on-chip buffers (exported vectors) and the layer's descriptor tables
  logic [XBW-1:0] xbuf [XD];
  logic [WBW-1:0] wbuf [WD];
  logic [63:0] biasbuf [CHD];
  logic [31:0] m0buf [CHD];
  logic [31:0] shiftbuf [CHD];
  logic [15:0] lutbuf [LUTD];
  logic [31:0] ybuf [YD];
  logic [31:0] cfg [32];
  logic [31:0] gemm [GD * {GEMM_WORDS}];
  logic [31:0] pixout [PIXD];
  logic [31:0] pixin [PIXIND];
  logic [31:0] ktab [KTD];
  logic [31:0] taps [TAPD];

  // run-time registers of the layer (cfg.hex)
{_cfg_decls()}
  typedef enum logic [3:0] {{S_IDLE, S_COMPUTE, S_WLOAD, S_STREAM, S_TAIL, S_DRAIN, S_FINISH, S_DONE}} state_t;
  state_t state;
  logic [31:0] t;
  int g, p0, f0, k0, dr, dc;
  logic signed [ACCW-1:0] drain_acc;
  int drain_p, drain_f;
  assign done = (state == S_DONE);

  // the current GEMM's descriptor
  int g_P, g_T, g_K, g_pobase, g_pibase, g_kbase, g_tbase;
  assign g_P = int'(gemm[g * {GEMM_WORDS} + 0]);
  assign g_T = int'(gemm[g * {GEMM_WORDS} + 1]);
  assign g_K = int'(gemm[g * {GEMM_WORDS} + 2]);
  assign g_pobase = int'(gemm[g * {GEMM_WORDS} + 3]);
  assign g_pibase = int'(gemm[g * {GEMM_WORDS} + 4]);
  assign g_kbase = int'(gemm[g * {GEMM_WORDS} + 5]);
  assign g_tbase = int'(gemm[g * {GEMM_WORDS} + 6]);
{fe_x}{fe_w}{ctrl}{_requant()}
`ifndef SYNTHESIS
  // simulation: buffers from $readmemh files named by plusargs (+x=FILE +w=... see docs/rtl.md)
  initial begin
    string fn;
    if ($value$plusargs("cfg=%s", fn)) $readmemh(fn, cfg);
    if ($value$plusargs("gemm=%s", fn)) $readmemh(fn, gemm);
    if ($value$plusargs("pixout=%s", fn)) $readmemh(fn, pixout);
    if ($value$plusargs("pixin=%s", fn)) $readmemh(fn, pixin);
    if ($value$plusargs("ktab=%s", fn)) $readmemh(fn, ktab);
    if ($value$plusargs("taps=%s", fn)) $readmemh(fn, taps);
    if ($value$plusargs("x=%s", fn)) $readmemh(fn, xbuf);
    if ($value$plusargs("w=%s", fn)) $readmemh(fn, wbuf);
    if ($value$plusargs("bias=%s", fn)) $readmemh(fn, biasbuf);
    if ($value$plusargs("m0=%s", fn)) $readmemh(fn, m0buf);
    if ($value$plusargs("shift=%s", fn)) $readmemh(fn, shiftbuf);
    if ($value$plusargs("lut=%s", fn)) $readmemh(fn, lutbuf);
  end
  // the testbench pulses dump after done: the output buffer to +ydump=FILE (+ywords=N words)
  input_dump: begin end
`endif
endmodule
"""
    return src.replace("  input_dump: begin end\n", "")


def _cfg_decls() -> str:
    lines = []
    for i, name in enumerate(CFG_FIELDS):
        lines.append(f"  int {name};\n  assign {name} = int'(cfg[{i}]);")
    return "\n".join(lines) + "\n"


def _requant() -> str:
    return """
  // ---- requantization unit (docs/quantization.md section 3, integer mode), one value per cycle,
  // registered: v = (acc + bias) << max(-shift, 0); h = srdhm_rndnu(v, m0); r = rdpot_rndna(h,
  // max(shift, 0)); y = clamp(r + z_y, qmin, qmax); ReLU clamps at z_y; lut: y = lut[y - qmin];
  // sign: y = acc >= 0 (1 = +1, 0 = -1); acc: y = acc (w1a1 last layer: the vector unit scales it).
  logic signed [127:0] rq_a, rq_v, rq_p, rq_num, rq_h, rq_mask, rq_rem, rq_thr, rq_r, rq_y, y_zp128, qmax128, qmin128;
  logic signed [63:0] rq_bias;
  int rq_left, rq_right, rq_sh;
  logic signed [31:0] rq_out;
  always_comb begin
    rq_sh = int'(shiftbuf[drain_f]);
    rq_left = rq_sh < 0 ? -rq_sh : 0;
    rq_right = rq_sh > 0 ? rq_sh : 0;
    rq_bias = $signed(biasbuf[drain_f]);
    if (has_bias == 0) rq_bias = 64'sd0;
    else rq_bias = (rq_bias <<< (64 - bias_bits)) >>> (64 - bias_bits);
    rq_a = 128'(drain_acc) + 128'(rq_bias);
    rq_v = rq_a <<< rq_left;
    rq_p = rq_v * $signed({96'd0, m0buf[drain_f]});
    rq_num = rq_p + ((rq_p >= 0) ? 128'sd1073741824 : (128'sd1 - 128'sd1073741824));
    rq_h = (rq_num >= 0) ? (rq_num >>> 31) : -((-rq_num) >>> 31);
    rq_mask = (128'sd1 <<< rq_right) - 128'sd1;
    rq_rem = rq_h & rq_mask;
    rq_thr = (rq_mask >>> 1) + ((rq_h < 0) ? 128'sd1 : 128'sd0);
    rq_r = (rq_h >>> rq_right) + ((rq_rem > rq_thr) ? 128'sd1 : 128'sd0);
    y_zp128 = 128'(y_zp);
    qmax128 = 128'(qmax);
    qmin128 = 128'(qmin);
    rq_y = rq_r + y_zp128;
    if (rq_y > qmax128) rq_y = qmax128;
    if (rq_y < qmin128) rq_y = qmin128;
    if (act == 1 && rq_y < y_zp128) rq_y = y_zp128;
    rq_out = 32'(rq_y);
    if (act == 2) begin
      rq_out = 32'($signed(lutbuf[int'(rq_y) - lut_qmin]));
      rq_out = (rq_out <<< (32 - lut_bits)) >>> (32 - lut_bits);
    end
    if (act == 3) rq_out = (rq_a >= 0) ? 32'd1 : 32'd0;
    if (act == 4) rq_out = 32'(rq_a);
  end
  always_ff @(posedge clk) begin
    if (state == S_DRAIN) ybuf[drain_f * hw_out + int'(pixout[g_pobase + drain_p])] <= rq_out;
  end
"""


def tb_sv() -> str:
    """The top the cocotb test drives: the core plus the output dump."""
    return """// accelsim cocotb top: the core and a dump of the output buffer ($writememh) on request.
module accelsim_tb (
  input  logic clk,
  input  logic rst,
  input  logic start,
  input  logic dump,
  output logic done,
  output logic [63:0] compute_cycles,
  output logic [63:0] control_cycles
);
  accelsim_core u_core (.clk(clk), .rst(rst), .start(start), .done(done), .compute_cycles(compute_cycles),
                        .control_cycles(control_cycles));
  string fn;
  int n;
  always @(posedge clk) begin
    if (dump) begin
      if ($value$plusargs("ydump=%s", fn) && $value$plusargs("ywords=%d", n)) $writememh(fn, u_core.ybuf, 0, n - 1);
    end
  end
endmodule
"""


def sources(cfg: RtlConfig) -> dict[str, str]:
    """File name -> text, in compile order."""
    src = {"accelsim_pe.sv": pe_sv(cfg), "accelsim_array.sv": array_sv(cfg), "accelsim_core.sv": core_sv(cfg)}
    if cfg.mutant is not None:
        apply_mutant(src, cfg.mutant)
    return src


def apply_mutant(src: dict[str, str], name: str) -> None:
    if name not in MUTANTS:
        raise ConfigError(f"mutant must be one of {', '.join(MUTANTS)}, got {name!r}")
    for anchor, repl in MUTANTS[name][1]:
        hits = [(f, s.count(anchor)) for f, s in src.items() if anchor in s]
        if len(hits) != 1 or hits[0][1] != 1:
            raise ConfigError(f"mutant {name}: anchor {anchor!r} occurs {sum(n for _, n in hits)} times")
        f = hits[0][0]
        src[f] = src[f].replace(anchor, repl)
