rtl/pe_os_ai8_wi8_acc32.v
rtl/pe_array_os_r8c8_ai8_wi8_acc32.v
rtl/edge_os.v
