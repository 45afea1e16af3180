// Yosys techmap rule used by the area benchmark (perf/area.ts), applied after
// the coarse stage of `synth` and before its fine stage.
//
// A word-indexed read such as `storage[ptr * WIDTH +: WIDTH]` with WIDTH a power
// of two reaches the fine stage as one $shiftx over the whole vector whose shift
// amount ends in log2(WIDTH) constant zero bits. Yosys 0.23 maps that to a
// logarithmic shifter over every bit of the vector and only then folds it back
// into a WIDTH-bit word multiplexer: the same netlist, but minutes of CPU for a
// 32 x 1024-bit FIFO. This rule builds the word multiplexer directly: one
// single-bit $shiftx per output bit over the words (the standard rules map
// those). Only unsigned (or sign-bit-zero) shift amounts with Z >= 1 constant-zero
// low bits and Y_WIDTH <= 2^Z are handled; every other $shiftx is left alone.
(* techmap_celltype = "$shiftx" *)
module _msq_shiftx_words (A, B, Y);
  parameter A_SIGNED = 0;
  parameter B_SIGNED = 0;
  parameter A_WIDTH = 1;
  parameter B_WIDTH = 1;
  parameter Y_WIDTH = 1;
  parameter _TECHMAP_CONSTMSK_B_ = 0;
  parameter _TECHMAP_CONSTVAL_B_ = 0;

  input [A_WIDTH-1:0] A;
  input [B_WIDTH-1:0] B;
  output [Y_WIDTH-1:0] Y;

  // constant-zero low bits of the shift amount
  function integer low_zeros;
    input integer dummy;
    integer i;
    reg stop;
    begin
      low_zeros = 0;
      stop = 0;
      for (i = 0; i < B_WIDTH; i = i + 1) begin
        if (!stop && _TECHMAP_CONSTMSK_B_[i] && !_TECHMAP_CONSTVAL_B_[i]) low_zeros = low_zeros + 1;
        else stop = 1;
      end
    end
  endfunction

  localparam Z = low_zeros(0);
  // a signed amount must have a constant-zero sign bit (then it is never negative)
  localparam SIGN_OK = !B_SIGNED || (_TECHMAP_CONSTMSK_B_[B_WIDTH-1] && !_TECHMAP_CONSTVAL_B_[B_WIDTH-1]);
  localparam SB = B_WIDTH - Z - (B_SIGNED ? 1 : 0);  // bits of the word index
  localparam WW = 1 << Z;                             // word width
  wire _TECHMAP_FAIL_ = !(Z >= 1 && SB >= 1 && SIGN_OK && Y_WIDTH <= WW && Z < 31);

  wire [SB-1:0] s = B[Z +: SB];

  genvar p, j;
  generate
    for (p = 0; p < Y_WIDTH; p = p + 1) begin : g_bit
      localparam integer NWP = (A_WIDTH - p + WW - 1) / WW;  // words holding bit p
      if (NWP <= 0) begin : g_none
        assign Y[p] = 1'bx;
      end else begin : g_mux
        wire [NWP-1:0] col;
        for (j = 0; j < NWP; j = j + 1) begin : g_word
          assign col[j] = A[j * WW + p];
        end
        \$shiftx #(.A_SIGNED(0), .B_SIGNED(0), .A_WIDTH(NWP), .B_WIDTH(SB), .Y_WIDTH(1)) u (.A(col), .B(s), .Y(Y[p]));
      end
    end
  endgenerate
endmodule
