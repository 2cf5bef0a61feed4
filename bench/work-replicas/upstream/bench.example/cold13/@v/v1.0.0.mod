module bench.example/cold13

go 1.21
