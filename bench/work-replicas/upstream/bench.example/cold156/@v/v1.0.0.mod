module bench.example/cold156

go 1.21
