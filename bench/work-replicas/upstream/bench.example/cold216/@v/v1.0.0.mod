module bench.example/cold216

go 1.21
