module bench.example/cold141

go 1.21
