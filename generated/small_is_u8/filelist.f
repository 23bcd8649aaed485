rtl/pe_is_au8_wi8_acc24.v
rtl/pe_array_is_r4c6_au8_wi8_acc24.v
rtl/small_is_u8.v
