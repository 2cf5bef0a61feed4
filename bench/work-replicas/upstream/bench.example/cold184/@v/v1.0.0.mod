module bench.example/cold184

go 1.21
