rtl/pe_ws_ai8_wi8_acc32.v
rtl/pe_array_ws_r2c2_ai8_wi8_acc32.v
rtl/tiny_2x2.v
