module bench.example/cold10

go 1.21
