module gortbench/peers/go

go 1.19
