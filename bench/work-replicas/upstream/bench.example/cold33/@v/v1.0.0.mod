module bench.example/cold33

go 1.21
