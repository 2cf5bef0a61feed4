module bench.example/cold206

go 1.21
