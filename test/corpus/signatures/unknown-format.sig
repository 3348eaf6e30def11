signed, trust me
