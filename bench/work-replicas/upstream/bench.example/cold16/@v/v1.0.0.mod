module bench.example/cold16

go 1.21
