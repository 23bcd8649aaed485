{% for line in banner %}// {{ line }}
{% endfor %}//
// Behavioural model of the OpenRAM SRAM macro `{{ name }}` ({{ depth }} words x {{ data_bits }} bits),
// for simulation only: synthesis and OpenROAD-flow-scripts use the macro's liberty and LEF, so this
// file is never in filelist.f.
//
// Port 0 (clk0) reads or writes, port 1 (clk1) reads. csb0/csb1 select the port and web0 writes,
// all active low; wmask0 bit i enables byte i of a write. Inputs are sampled on the rising clock
// edge; a read's data is on dout0/dout1 after that edge and holds until the next read of the port
// (OpenRAM's own model drives X in between: do not rely on the hold). A write and a read of the
// same word at the same edge read the old word; the silicon does not promise it.

`default_nettype none

module {{ name }} (
    input  wire          clk0,
    input  wire          csb0,
    input  wire          web0,
    input  wire {{ mask_range|fmt("{:<8}") }} wmask0,
    input  wire {{ address_range|fmt("{:<8}") }} addr0,
    input  wire {{ data_range|fmt("{:<8}") }} din0,
    output reg  {{ data_range|fmt("{:<8}") }} dout0,
    input  wire          clk1,
    input  wire          csb1,
    input  wire {{ address_range|fmt("{:<8}") }} addr1,
    output reg  {{ data_range|fmt("{:<8}") }} dout1
);
    reg  {{ data_range }} mem [0:{{ depth - 1 }}];
    // wmask0 widened to one bit per data bit.
    wire {{ data_range }} bit_mask = { {{ bit_mask }} };

    always @(posedge clk0) begin
        if (!csb0 && !web0) mem[addr0] <= (mem[addr0] & ~bit_mask) | (din0 & bit_mask);
        if (!csb0 && web0) dout0 <= mem[addr0];
    end

    always @(posedge clk1) if (!csb1) dout1 <= mem[addr1];
endmodule

`default_nettype wire
