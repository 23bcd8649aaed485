rtl/pe_ws_ai8_wi8_acc32.v
rtl/pe_array_ws_r8c8_ai8_wi8_acc32.v
rtl/edge_ws.v
